/** `kielo clean` on real translations: units, report, --source, config, review view. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { showRows } from "../../src/clean/show.ts";
import { learnBounds, median } from "../../src/clean/length-ratio.ts";
import { loadCleanConfig } from "../../src/clean/config.ts";
import { looksLikeList, wordOverlap } from "../../src/clean/text-checks.ts";
import { longestRepeatRun } from "../../src/text/words.ts";
import { toJsonl } from "../../src/data/jsonl.ts";
import type { KieloRecord } from "../../src/data/records.ts";
import { loadFixtureSet } from "../translate/helpers/fixture-records.ts";

const KIELO = fileURLToPath(new URL("../../bin/kielo.js", import.meta.url));
const fixtures = loadFixtureSet();
const dir = mkdtempSync(join(tmpdir(), "kielo-clean-"));

function kielo(args: string[]) {
  return spawnSync(process.execPath, [KIELO, ...args], { encoding: "utf8" });
}

/** The reference Finnish rows, without translation meta (the sources come through --source). */
function finnish(): KieloRecord[] {
  return structuredClone(fixtures.finnish);
}

test("a conversation or pair with one bad message is dropped whole; the report names rules, counts and ids", () => {
  const rows = finnish();
  const pair = rows.find((row) => row.kind === "preference")!;
  if (pair.kind !== "preference") throw new Error("fixture has preference pairs");
  pair.rejected = ""; // only the rejected reply is broken
  const conversation = rows.find((row) => row.kind === "conversation" && row.messages[1]!.content.length > 200)!;
  if (conversation.kind !== "conversation") throw new Error("unreachable");
  conversation.messages[1]!.content += "\n</fi>"; // leaked scaffolding in the assistant turn
  const input = join(dir, "fi.jsonl");
  const source = join(dir, "en.jsonl");
  writeFileSync(source, toJsonl(fixtures.english));
  // Baseline: the real DeepL rows as they are (two of them have real defects: a message DeepL
  // left as it was, and a reply whose unfenced code DeepL mangled).
  const reference = join(dir, "fi-reference.jsonl");
  writeFileSync(reference, toJsonl(finnish()));
  const baseline = kielo(["clean", reference, "--source", source, "--out", join(dir, "kept-reference.jsonl"), "--quiet"]);
  assert.equal(baseline.status, 0, baseline.stderr);
  const baselineKept = readFileSync(join(dir, "kept-reference.jsonl"), "utf8").trim().split("\n").length;
  assert.ok(baselineKept >= rows.length - 3, `${baselineKept} of ${rows.length} real rows kept`);
  writeFileSync(input, toJsonl(rows));
  const out = join(dir, "kept.jsonl");
  const reportPath = join(dir, "report.json");
  const run = kielo(["clean", input, "--source", source, "--out", out, "--report", reportPath, "--quiet"]);
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(readFileSync(reportPath, "utf8")) as {
    rows_in: number;
    rows_kept: number;
    rules: Record<string, { rows: number; fields: number; examples: string[] }>;
    length_ratio: { pair: string; source: string; samples: number; low: number; high: number }[];
  };
  assert.equal(report.rows_in, rows.length);
  assert.deepEqual(report.rules["empty"], { rows: 1, fields: 1, examples: [pair.id] });
  assert.equal(report.rules["scaffolding"]!.rows, 1);
  assert.deepEqual(report.rules["scaffolding"]!.examples, [conversation.id]);
  // Exactly the two broken rows go, besides what the baseline dropped.
  assert.equal(report.rows_kept, baselineKept - 2, JSON.stringify(report.rules));
  const kept = readFileSync(out, "utf8").trim().split("\n").map((line) => (JSON.parse(line) as KieloRecord).id);
  assert.ok(!kept.includes(pair.id) && !kept.includes(conversation.id));
  assert.equal(kept.length, baselineKept - 2);
  assert.equal(report.length_ratio[0]!.pair, "en-fi");
  assert.equal(report.length_ratio[0]!.source, "learned");
  assert.match(run.stderr, /kept \d+\/\d+ rows .* \(dropped \d+: .*empty 1.*scaffolding 1/);
});

test("thresholds from --config and flags; --rules limits the rules", () => {
  const rows = finnish();
  const target = rows.find((row) => row.kind === "conversation" && row.messages[1]!.content.length > 300)!;
  if (target.kind !== "conversation") throw new Error("unreachable");
  const sentence = target.messages[1]!.content.split(". ")[0]!;
  target.messages[1]!.content += ` ${sentence}. ${sentence}. ${sentence}.`; // 3 extra repeats
  const input = join(dir, "rep.jsonl");
  const source = join(dir, "en.jsonl");
  writeFileSync(input, toJsonl(rows));
  writeFileSync(source, toJsonl(fixtures.english));
  const config = join(dir, "clean.yaml");
  writeFileSync(config, "repetition:\n  min_repeats: 3\n  min_run_words: 4\nrules: [repetition]\n");
  const strict = kielo(["clean", input, "--source", source, "--out", join(dir, "a.jsonl"), "--config", config, "--quiet"]);
  assert.equal(strict.status, 0, strict.stderr);
  assert.match(strict.stderr, /dropped 1: repetition 1/);
  const loose = kielo(["clean", input, "--source", source, "--out", join(dir, "b.jsonl"), "--config", config, "--min-repeats", "6", "--quiet"]);
  assert.match(loose.stderr, /kept \d+\/\d+ rows .*\(dropped 0\)/);
  writeFileSync(config, "repetition:\n  min_repeat: 3\n");
  const bad = kielo(["clean", input, "--out", join(dir, "c.jsonl"), "--config", config]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /clean\.yaml \(field repetition\): Unrecognized key: "min_repeat"/);
  const unknownRule = kielo(["clean", input, "--out", join(dir, "c.jsonl"), "--rules", "empty,typo"]);
  assert.match(unknownRule.stderr, /--rules: unknown rule "typo"/);
});

test("a record without a source in meta or --source gets only the source-free rules; a broken line names file and line", () => {
  const input = join(dir, "nosource.jsonl");
  writeFileSync(input, `${JSON.stringify(finnish()[0])}\n{"kind":"conversation","id":"x","messages":[]}\n`);
  const run = kielo(["clean", input, "--out", join(dir, "x.jsonl")]);
  assert.equal(run.status, 1);
  assert.match(run.stderr, /nosource\.jsonl:2 \(field messages\): not a kielo record/);
});

test("the review view prints source and translation side by side, or stacked when narrow, with the broken rules", async () => {
  const rows = finnish();
  const row = rows.find((entry) => entry.id.startsWith("dolly-"))!;
  if (row.kind !== "conversation") throw new Error("unreachable");
  row.messages[1]!.content = "";
  const input = join(dir, "show.jsonl");
  const source = join(dir, "en.jsonl");
  writeFileSync(input, toJsonl(rows));
  writeFileSync(source, toJsonl(fixtures.english));
  const english = fixtures.english.find((entry) => entry.id === row.id)!;
  if (english.kind !== "conversation") throw new Error("unreachable");
  const wide = await showRows(input, [row.id], { source, lang: "fi", width: 160 });
  assert.match(wide, new RegExp(`${row.id}  ✗ 1 finding`));
  assert.match(wide, /✗ empty \(messages\[1\]\.content\): the translation is empty/);
  assert.match(wide, /^source\s+│ translation$/m);
  assert.ok(wide.includes(english.messages[0]!.content.slice(0, 40)));
  assert.ok(wide.includes(row.messages[0]!.content.slice(0, 40)));
  const narrow = await showRows(input, [row.id], { source, lang: "fi", width: 60 });
  assert.match(narrow, /^translation:$/m);
  assert.ok(narrow.split("\n").every((line) => [...line].length <= 60));
  await assert.rejects(showRows(input, ["no-such-id"], { source, lang: "fi" }), /no row with id "no-such-id"/);
});

test("length-ratio bounds are median ± k·MAD of the data, with a fallback for few samples", () => {
  const config = loadCleanConfig().length_ratio;
  const ratios = Array.from({ length: 40 }, (_, i) => Math.log(1 + (i - 20) / 100));
  const bounds = learnBounds("en-fi", ratios, config);
  assert.equal(bounds.source, "learned");
  assert.ok(Math.abs(bounds.median - median(ratios)) < 1e-12);
  assert.ok(bounds.low < bounds.median && bounds.high > bounds.median);
  assert.ok(bounds.high - bounds.median >= config.min_half_width - 1e-12);
  assert.deepEqual(learnBounds("en-fi", ratios.slice(0, 5), config).source, "fallback");
});

test("text measurements on real Finnish", () => {
  const fi = "Kukkakaaliriisi voidaan keittää muutamassa minuutissa.";
  assert.deepEqual(longestRepeatRun(`${fi} ${fi} ${fi} ${fi}`), { repeats: 4, runWords: 20, unit: "kukkakaaliriisi voidaan keittää muutamassa minuutissa" });
  assert.equal(longestRepeatRun(fi).repeats, 1);
  assert.ok(looksLikeList("Hindi, bengali, marathi, assamen kieli, gujarati"));
  assert.ok(!looksLikeList(fi));
  // Names are not counted as copied words; ordinary words are.
  assert.equal(wordOverlap("Sholay is a Bollywood movie", "Sholay on Bollywood-elokuva").share, 0);
  assert.equal(wordOverlap("the movie is good", "the movie is good").share, 1);
});
