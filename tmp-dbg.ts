import { loadFixtureSet } from "./test/translate/helpers/fixture-records.ts";
import { lineTable, translateRequest } from "./test/translate/helpers/deepl-server.ts";
import { planRecord } from "./src/translate/translate.ts";
const f = loadFixtureSet();
const table = lineTable(f.pairs);
for (const r of f.english) { const p = planRecord(r, {maxChars:1000, translateJson:false});
  for (const fld of p.fields) for (const s of fld.segments) if (translateRequest(s.protectedText, table) === undefined) { console.log(r.id, JSON.stringify(s.protectedText).slice(0,300)); console.log(s.values); }
}
const s = "LinkedIn (/lɪŋktˈɪn/) is a business";
for (const [en, fi] of table) if (en.startsWith("LinkedIn (")) console.log(JSON.stringify(en).slice(0,400), "\n", JSON.stringify(fi).slice(0,400));
