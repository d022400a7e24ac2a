import { readFileSync } from "node:fs";
import { protectedSpans } from "./src/translate/protect.ts";
const c: Record<string, number> = {};
for (const f of ["oasst1-fi-aligned.jsonl","dolly-fi-aligned.jsonl"]) for (const l of readFileSync("test/fixtures/translate/"+f,"utf8").trim().split("\n")) {
  const r = JSON.parse(l); for (const t of [r.text_en, r.instruction, r.context, r.response].filter(Boolean)) for (const s of protectedSpans(t)) c[s.kind]=(c[s.kind]??0)+1;
  for (const t of [r.text_en, r.context, r.response].filter(Boolean)) if (/\n\s*\n/.test(t)) c.multipara=(c.multipara??0)+1;
}
console.log(c);
