import { buildBenchSet } from "./scripts/clean-quality.ts";
import { RULE_FUNCTIONS } from "./src/clean/rules.ts";
import { loadCleanConfig } from "./src/clean/config.ts";
import { sentencesOf, proseOnly, letterCount, lowercaseWords } from "./src/clean/text-checks.ts";
const { items } = buildBenchSet(4);
const it = items.find(i => i.target.id === "dolly-392")!;
const target = it.target.messages[1]!.content; const source = (it.target.meta.translation as any).source.messages[1].content;
for (const s of sentencesOf(proseOnly(target))) console.log(letterCount(s), lowercaseWords(s).length, proseOnly(source).includes(s), JSON.stringify(s).slice(0,80));
console.log(RULE_FUNCTIONS.untranslated({path:"x", target, source, targetLang:"fi", sourceLang:"en", bounds: undefined, translatorIssues: [], scaffolding: []}, loadCleanConfig()));
