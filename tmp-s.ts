import { evaluateFile } from "./src/clean/clean.ts";
import { loadCleanConfig } from "./src/clean/config.ts";
import { writeFileSync } from "node:fs";
import { toJsonl } from "./src/data/jsonl.ts";
import { loadFixtureSet } from "./test/translate/helpers/fixture-records.ts";
const f = loadFixtureSet();
writeFileSync("/tmp/fi.jsonl", toJsonl(f.finnish)); writeFileSync("/tmp/en.jsonl", toJsonl(f.english));
const { verdicts } = await evaluateFile({ input: "/tmp/fi.jsonl", source: "/tmp/en.jsonl", config: loadCleanConfig(), quiet: true });
for (const v of verdicts) if (v.findings.length) console.log(v.record.id, v.findings);
