/**
 * `kielo runs compare` of evaluations: IFEval accuracy per instruction category (two real
 * `kielo eval ifeval` runs) and the mean/p10/p90 summaries of text evaluations (stored as
 * `kielo eval text` stores them), side by side, in JSON and as text.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { storeTextEval } from "../../src/eval/text/run.ts";
import type { AnswerMetricsRow } from "../../src/store/answer-metrics.ts";
import { openStore } from "../../src/store/db.ts";

const root = new URL("../../", import.meta.url).pathname;
const kielo = join(root, "bin", "kielo.js");
const sample = join(root, "test", "fixtures", "ifeval", "sample");
const workspace = mkdtempSync(join(tmpdir(), "kielo-runs-compare-"));
const dbPath = join(workspace, "kielo.db");
const env = { ...process.env, KIELO_DB: dbPath };

function kieloSync(args: string[]) {
  const result = spawnSync(process.execPath, [kielo, ...args], { cwd: workspace, env, encoding: "utf8" });
  assert.equal(result.status, 0, `kielo ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

test("IFEval per category side by side", () => {
  const upper = join(workspace, "upper.jsonl");
  const lines = readFileSync(join(sample, "responses.jsonl"), "utf8").trim().split("\n");
  writeFileSync(upper, lines.map((l) => { const r = JSON.parse(l) as { prompt: string; response: string }; return JSON.stringify({ ...r, response: r.response.toUpperCase() }); }).join("\n") + "\n");
  kieloSync(["eval", "ifeval", "--prompts", join(sample, "prompts.jsonl"), "--responses", join(sample, "responses.jsonl"), "--label", "as-is", "--json", join(workspace, "a.json")]);
  kieloSync(["eval", "ifeval", "--prompts", join(sample, "prompts.jsonl"), "--responses", upper, "--label", "upper", "--json", join(workspace, "b.json")]);
  const reports = ["a.json", "b.json"].map((f) => JSON.parse(readFileSync(join(workspace, f), "utf8")) as { per_category: Record<string, { strict: number; loose: number; instructions: number }> });

  const c = JSON.parse(kieloSync(["runs", "compare", "1", "2", "--json"])) as { ifeval_categories: { category: string; values: { strict: number }[] }[]; metrics: { name: string; values: number[] }[] };
  const categories = Object.keys(reports[0]!.per_category).sort();
  assert.deepEqual(c.ifeval_categories.map((row) => row.category), categories);
  for (const row of c.ifeval_categories) {
    assert.deepEqual(row.values.map((v) => v.strict), reports.map((r) => r.per_category[row.category]!.strict), row.category);
  }
  // Upper-casing every answer breaks the lowercase instructions: the runs differ there.
  const changeCase = c.ifeval_categories.find((row) => row.category === "change_case")!;
  assert.notEqual(changeCase.values[0]!.strict, changeCase.values[1]!.strict);
  assert.ok(c.metrics.some((m) => m.name === "prompt_level_strict"));

  const text = kieloSync(["runs", "compare", "1", "2"]);
  assert.match(text, /^IFEval per category \(strict \/ loose accuracy\):$/m);
  assert.match(text, new RegExp(`^change_case\\s+${changeCase.values[0]!.strict.toFixed(3)} / `, "m"));
});

test("text-metric summaries (mean, p10, p90) side by side", () => {
  const row = (key: string, words: number, lang: string): AnswerMetricsRow => ({
    answer_key: key,
    model: null,
    source_run_id: null,
    prompt: `prompt ${key}`,
    answer: `answer ${key}`,
    readability_lang: "en",
    answer_lang: lang,
    metrics: { lexicon_count: words },
    scores: {},
    versions: {},
  });
  const db = openStore(dbPath);
  const a = storeTextEval(db, [1, 2, 3, 4, 5].map((n) => row(`k${n}`, n * 10, "fi")), "short", {});
  const b = storeTextEval(db, [1, 2, 3].map((n) => row(`k${n}`, n * 100, "en")), "long", {});
  db.close();
  const c = JSON.parse(kieloSync(["runs", "compare", String(a.runId), String(b.runId), "--json"])) as { text_metrics: { field: string; values: { n: number; mean: number; p10: number; p90: number }[] }[] };
  const words = c.text_metrics.find((m) => m.field === "lexicon_count")!;
  assert.deepEqual(words.values, [a.summary.metrics["lexicon_count"], b.summary.metrics["lexicon_count"]]);
  assert.deepEqual(words.values.map((v) => v.mean), [30, 200]);
  assert.match(kieloSync(["runs", "compare", String(a.runId), String(b.runId)]), /^lexicon_count\s+30 \(14, 46\)\s+200 \(120, 280\)$/m);
});
