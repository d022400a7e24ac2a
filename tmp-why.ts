import { readFileSync } from "node:fs";
import { protect } from "./src/translate/protect.ts";
import { fencedCodeBlocks } from "./src/translate/segment.ts";
const rows = readFileSync("/work/shared/data/oasst1-fi/oasst1_validation_fi_aligned.jsonl","utf8").trim().split("\n").map(l=>JSON.parse(l));
const why: Record<string, number> = {};
let ex = 0;
for (const r of rows) {
  const en=r.text_en, fi=r.text;
  let reason = "ok";
  if (en !== en.trim() || fi !== fi.trim()) reason="edge-ws";
  else if (JSON.stringify(fencedCodeBlocks(en)) !== JSON.stringify(fencedCodeBlocks(fi))) reason="code";
  else {
    const a=en.split(/(\n\s*)/), b=fi.split(/(\n\s*)/);
    if (a.length!==b.length) reason="linecount";
    else for (let i=0;i<a.length;i++){ if (i%2===1 && a[i]!==b[i]) {reason="sep"; if (ex++<3) console.log(JSON.stringify(a[i]), JSON.stringify(b[i])); break;} if(i%2===0 && /\p{L}/u.test(a[i]) && b[i]!==b[i].trim()){reason="line-ws";break;} if (i%2===0) for (const v of protect(a[i]).values) if(!b[i].includes(v)){reason="prot";} }
  }
  why[reason]=(why[reason]??0)+1;
}
console.log(why);
