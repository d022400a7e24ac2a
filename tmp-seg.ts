import { segmentMessage, assemble } from "./src/translate/segment.ts";
import { protect, restore } from "./src/translate/protect.ts";
import { readFileSync } from "node:fs";
const rows = readFileSync("/work/shared/data/oasst1-fi/oasst1_validation_fi_aligned.jsonl","utf8").trim().split("\n").map(l=>JSON.parse(l));
let bad=0, segs=0;
for (const r of rows) for (const max of [1, 200, 100000]) {
  const p = segmentMessage(r.text_en, {maxChars:max});
  segs += p.filter(x=>x.kind==="segment").length;
  const back = assemble(p, s => { const pr = protect(s); const rr = restore(pr.text, pr.values); if (rr.problems.length) throw new Error("x"); return rr.text; });
  if (back !== r.text_en) { bad++; if (bad<3) console.log(JSON.stringify(r.text_en).slice(0,300)); }
}
console.log("bad", bad, "segs", segs);
console.log(segmentMessage("Hi there.\n\n```py\nx=1\n```\n\nNext para with `code` and https://x.org/a. 5 km and [name].\n1.\n", {maxChars:10}));
console.log(protect("Next para with `code` and https://x.org/a. 5 km and 50% [name] a@b.com."));
