/**
 * `kielo eval ifeval` end to end: the printed report, the `--json` document (checked against the
 * reference scorer run as a peer), the store, target-language evaluation, and input errors.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { evaluateIfeval } from "../../../src/eval/ifeval/evaluate.ts";
import { readPrompts } from "../../../src/eval/ifeval/prompts.ts";
import { selectForTargetLanguage } from "../../../src/eval/ifeval/target-language.ts";
import { KieloError } from "../../../src/util/errors.ts";
import { FIXTURES, REPO, runReference } from "./helpers.ts";

const KIELO = join(REPO, "bin", "kielo.js");
const SAMPLE_PROMPTS = `${FIXTURES}sample/prompts.jsonl`;
const SAMPLE_RESPONSES = `${FIXTURES}sample/responses.jsonl`;
const FI_PROMPTS = `${FIXTURES}fi-sample/prompts.jsonl`;
const FI_RESPONSES = `${FIXTURES}fi-sample/responses.jsonl`;

function kielo(args: string[]) {
  return spawnSync(process.execPath, [KIELO, ...args], { encoding: "utf8" });
}

function readLines<T>(file: string): T[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as T);
}

interface PromptRow {
  key: number;
  prompt: string;
  instruction_id_list: string[];
  kwargs: Record<string, unknown>[];
}

interface JsonReport {
  prompt_level_strict: number;
  instruction_level_strict: number;
  prompt_level_loose: number;
  instruction_level_loose: number;
  per_prompt: { key: number; prompt: string; instruction_ids: string[]; strict: boolean[]; loose: boolean[] }[];
  per_category: Record<string, { instructions: number; strict_followed: number; strict: number; loose_followed: number; loose: number }>;
  per_instruction: Record<string, { instructions: number; strict_followed: number; strict: number }>;
  target_language?: {
    prompts_before: number;
    prompts_after: number;
    excluded: { key: number; language: string }[];
    response_language: { rates: Record<string, { matches: number; total: number; rate: number }>; disagreements: number };
  };
}

test("report, --json and store agree with the reference scorer on the shipped sample", () => {
  const dir = mkdtempSync(join(tmpdir(), "kielo-ifeval-"));
  const out = join(dir, "out.json");
  const db = join(dir, "kielo.db");
  const run = kielo(["eval", "ifeval", "--prompts", SAMPLE_PROMPTS, "--responses", SAMPLE_RESPONSES, "--json", out, "--label", "gpt-4o", "--db", db, "--quiet"]);
  assert.equal(run.status, 0, run.stderr);

  const report = JSON.parse(readFileSync(out, "utf8")) as JsonReport;
  const prompts = readLines<PromptRow>(SAMPLE_PROMPTS);
  const responses = readLines<{ prompt: string; response: string }>(SAMPLE_RESPONSES);
  const reference = runReference(prompts.map((p, i) => ({ ...p, response: responses[i]!.response })));
  assert.deepEqual(
    report.per_prompt.map((p) => ({ strict: p.strict, loose: p.loose })),
    reference,
  );
  assert.deepEqual(report.per_prompt.map((p) => p.key), prompts.map((p) => p.key));
  assert.deepEqual(report.per_prompt[0]!.instruction_ids, prompts[0]!.instruction_id_list);

  // The four metrics, from the reference's verdicts.
  const flat = (m: "strict" | "loose") => reference.flatMap((r) => r[m]);
  const promptLevel = (m: "strict" | "loose") => reference.filter((r) => r[m].every(Boolean)).length / reference.length;
  const instLevel = (m: "strict" | "loose") => flat(m).filter(Boolean).length / flat(m).length;
  assert.equal(report.prompt_level_strict, promptLevel("strict"));
  assert.equal(report.prompt_level_loose, promptLevel("loose"));
  assert.equal(report.instruction_level_strict, instLevel("strict"));
  assert.equal(report.instruction_level_loose, instLevel("loose"));
  const categoryTotal = Object.values(report.per_category).reduce((n, c) => n + c.instructions, 0);
  assert.equal(categoryTotal, flat("strict").length);
  assert.equal(Object.keys(report.per_instruction).length, 25);

  // Printed: counts next to percentages.
  const strictCount = flat("strict").filter(Boolean).length;
  assert.match(run.stdout, new RegExp(`instruction-level +\\d+\\.\\d\\d% \\(${strictCount}/${flat("strict").length}\\)`));
  assert.match(run.stdout, /^category +strict$/m);

  // Stored: a run with the summary, one verdict row and one response per prompt, four metrics.
  const store = new DatabaseSync(db);
  const runs = store.prepare("SELECT id, kind, label, status, summary_json FROM runs").all() as { id: number; kind: string; label: string; status: string; summary_json: string }[];
  assert.equal(runs.length, 1);
  assert.equal(runs[0]!.kind, "eval-ifeval");
  assert.equal(runs[0]!.label, "gpt-4o");
  assert.equal(runs[0]!.status, "done");
  assert.equal((JSON.parse(runs[0]!.summary_json) as JsonReport).instruction_level_strict, report.instruction_level_strict);
  const rows = store.prepare("SELECT item_key, result_json FROM eval_results WHERE run_id = ?").all(runs[0]!.id) as { item_key: string; result_json: string }[];
  assert.equal(rows.length, prompts.length);
  const first = rows.find((r) => r.item_key === String(prompts[0]!.key))!;
  assert.deepEqual(JSON.parse(first.result_json).strict, reference[0]!.strict);
  const generations = store.prepare("SELECT COUNT(*) AS n FROM generations WHERE run_id = ?").get(runs[0]!.id) as { n: number };
  assert.equal(generations.n, prompts.length);
  const metrics = store.prepare("SELECT name, value FROM metrics WHERE run_id = ? ORDER BY name").all(runs[0]!.id) as { name: string; value: number }[];
  assert.deepEqual(metrics.map((m) => m.name), ["instruction_level_loose", "instruction_level_strict", "prompt_level_loose", "prompt_level_strict"]);
  store.close();
});

test("Hugging Face format prompts (every kwarg, unused ones null) score the same", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kielo-ifeval-"));
  const allKeys = [...new Set(readLines<PromptRow>(SAMPLE_PROMPTS).flatMap((p) => p.kwargs.flatMap((k) => Object.keys(k))))];
  const hf = readLines<PromptRow>(SAMPLE_PROMPTS).map((p) => ({
    ...p,
    kwargs: p.kwargs.map((k) => Object.fromEntries(allKeys.map((name) => [name, k[name] ?? null]))),
  }));
  writeFileSync(join(dir, "hf.jsonl"), hf.map((p) => JSON.stringify(p)).join("\n"));
  const a = await evaluateIfeval({ promptsFile: SAMPLE_PROMPTS, responsesFile: SAMPLE_RESPONSES, quiet: true });
  const b = await evaluateIfeval({ promptsFile: join(dir, "hf.jsonl"), responsesFile: SAMPLE_RESPONSES, quiet: true });
  assert.ok(hf[0]!.kwargs.every((k) => Object.keys(k).length === allKeys.length));
  assert.deepEqual(b.per_prompt, a.per_prompt);
});

test("responses join by key when present, else by prompt text; a prompt answered twice is an error naming both lines", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kielo-ifeval-"));
  const prompts = readLines<PromptRow>(SAMPLE_PROMPTS).slice(0, 2);
  writeFileSync(join(dir, "p.jsonl"), prompts.map((p) => JSON.stringify(p)).join("\n"));
  const lines = [
    { prompt: prompts[0]!.prompt, response: readLines<{ response: string }>(SAMPLE_RESPONSES)[0]!.response },
    { key: prompts[1]!.key, prompt: "a different text: the key decides", response: "" },
    { prompt: "a prompt that is not in the file", response: "x" },
  ];
  writeFileSync(join(dir, "r.jsonl"), lines.map((l) => JSON.stringify(l)).join("\n"));
  const result = await evaluateIfeval({ promptsFile: join(dir, "p.jsonl"), responsesFile: join(dir, "r.jsonl"), quiet: true });
  assert.ok(result.per_prompt[0]!.strict.some(Boolean), "prompt 0 joined by its text");
  assert.deepEqual(result.per_prompt[1]!.strict, prompts[1]!.instruction_id_list.map(() => false), "the empty response joined by key fails all");
  assert.equal(result.unused_responses, 1);

  writeFileSync(join(dir, "twice.jsonl"), [{ prompt: prompts[0]!.prompt, response: "" }, ...lines].map((l) => JSON.stringify(l)).join("\n"));
  await assert.rejects(
    evaluateIfeval({ promptsFile: join(dir, "p.jsonl"), responsesFile: join(dir, "twice.jsonl"), quiet: true }),
    (e: unknown) => e instanceof KieloError && e.message.startsWith(`${join(dir, "twice.jsonl")}:2 (field prompt): a second response to the prompt`) && e.message.endsWith("(the first is on line 1)"),
  );
  const keyed = { key: prompts[1]!.key, response: "again" };
  writeFileSync(join(dir, "twice-key.jsonl"), [...lines, keyed].map((l) => JSON.stringify(l)).join("\n"));
  await assert.rejects(
    evaluateIfeval({ promptsFile: join(dir, "p.jsonl"), responsesFile: join(dir, "twice-key.jsonl"), quiet: true }),
    new RegExp(`twice-key\\.jsonl:4 \\(field key\\): a second response to key ${prompts[1]!.key} \\(the first is on line 2\\)`),
  );
});

test("missing responses are an error listing the keys; a bad line names file and line", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kielo-ifeval-"));
  await assert.rejects(evaluateIfeval({ responsesFile: SAMPLE_RESPONSES, quiet: true }), (e: unknown) => {
    return e instanceof KieloError && /no response for 511 of 541 prompts; keys: 1000, 1001, 1005, .* \(471 more\)$/.test(e.message);
  });
  writeFileSync(join(dir, "bad.jsonl"), `${JSON.stringify({ prompt: "x", response: "y" })}\n${JSON.stringify({ prompt: "x", response: 3 })}\n`);
  await assert.rejects(evaluateIfeval({ responsesFile: join(dir, "bad.jsonl"), quiet: true }), /bad\.jsonl:2 \(field response\)/);
  writeFileSync(join(dir, "badprompt.jsonl"), `${JSON.stringify({ key: 1, prompt: "x", instruction_id_list: ["punctuation:no_comma"], kwargs: [] })}\n`);
  await assert.rejects(evaluateIfeval({ promptsFile: join(dir, "badprompt.jsonl"), responsesFile: SAMPLE_RESPONSES, quiet: true }), /badprompt\.jsonl:1 \(field kwargs\): has 0 entries/);
});

test("the shipped prompts: 541 prompts, 834 instructions; Finnish keeps 511 (510 when every language prompt goes)", async () => {
  const prompts = await readPrompts();
  assert.equal(prompts.length, 541);
  assert.equal(prompts.reduce((n, p) => n + p.instructionIds.length, 0), 834);
  const fi = selectForTargetLanguage(prompts, "fi");
  assert.equal(fi.kept.length, 511);
  assert.equal(fi.excluded.length, 30);
  assert.ok(!fi.excluded.some((e) => e.language === "fi" || e.language === "en"));
  assert.ok(fi.kept.some((p) => p.key === 3502), "key 3502 asks for Finnish and stays");
  assert.equal(selectForTargetLanguage(prompts, "fi", "all").kept.length, 510);
  assert.equal(selectForTargetLanguage(prompts, "de").kept.length, 512);
});

test("--lang fi: third-language prompts excluded, response-language rate by langdetect and eld", () => {
  const dir = mkdtempSync(join(tmpdir(), "kielo-ifeval-"));
  const run = kielo(["eval", "ifeval", "--prompts", FI_PROMPTS, "--responses", FI_RESPONSES, "--lang", "fi", "--json", join(dir, "o.json"), "--db", join(dir, "k.db"), "--quiet"]);
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(readFileSync(join(dir, "o.json"), "utf8")) as JsonReport;
  const target = report.target_language!;
  assert.equal(target.prompts_before, 40);
  assert.deepEqual(target.excluded.map((e) => e.language).sort(), ["de", "hi", "ko", "ru"]);
  assert.equal(target.prompts_after, 36);
  assert.equal(report.per_prompt.length, 36);
  // Ground truth: the fixture says which responses are DeepL Finnish and which English originals.
  const excluded = new Set(target.excluded.map((e) => e.key));
  const finnish = readLines<{ key: number; source: string }>(FI_RESPONSES).filter((r) => !excluded.has(r.key) && r.source.endsWith("response_fi")).length;
  const rates = target.response_language.rates;
  assert.equal(rates["langdetect"]!.total, 36);
  assert.equal(rates["langdetect"]!.matches, finnish);
  assert.equal(rates["eld"]!.matches, finnish);
  assert.match(run.stdout, /excluded 4 of 40 prompts asking for a language other than en or fi → 36 scored/);
  assert.match(run.stdout, new RegExp(`response language fi: +\\d+\\.\\d\\d% \\(${finnish}/36\\) by langdetect; .* by eld; the two disagree on ${target.response_language.disagreements} response`));
  const store = new DatabaseSync(join(dir, "k.db"));
  const rows = store.prepare("SELECT result_json FROM eval_results").all() as { result_json: string }[];
  const detected = rows.map((r) => JSON.parse(r.result_json).response_language as { langdetect: string | null; eld: string | null });
  assert.equal(detected.filter((d) => d.langdetect !== d.eld).length, target.response_language.disagreements);
  store.close();
});

test("--exclude-language-prompts all drops every language prompt (the paper's 541 → 510 on the reference file)", () => {
  const dir = mkdtempSync(join(tmpdir(), "kielo-ifeval-"));
  const run = kielo(["eval", "ifeval", "--prompts", FI_PROMPTS, "--responses", FI_RESPONSES, "--lang", "fi", "--exclude-language-prompts", "all", "--json", join(dir, "o.json"), "--no-store", "--quiet"]);
  assert.equal(run.status, 0, run.stderr);
  const target = (JSON.parse(readFileSync(join(dir, "o.json"), "utf8")) as JsonReport).target_language!;
  assert.deepEqual(target.excluded.map((e) => e.language).sort(), ["de", "fi", "hi", "ko", "ru"]);
  assert.equal(target.prompts_after, 35);
  assert.match(run.stdout, /excluded 5 of 40 prompts asking for any response language → 35 scored/);
});
