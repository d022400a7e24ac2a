/** Bad study files: each error names the file, line and key path, with a hint; nothing runs. */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadStudy } from "../../src/study/load.ts";
import { buildPlan } from "../../src/study/plan.ts";
import { gridStudy, kielo, root, tempDir, writeStudy } from "./helpers.ts";

const dir = tempDir("study-file");

async function plan(text: string) {
  const file = writeStudy(dir, text, "bad.yaml");
  const result = await kielo(["study", "plan", file, "--work-dir", join(dir, "work")], { cwd: dir, env: { KIELO_DB: join(dir, "kielo.db") } });
  assert.equal(result.code, 1, result.stderr);
  assert.doesNotMatch(result.stderr, /internal error/);
  assert.match(result.stderr, /hint: /);
  assert.ok(!existsSync(join(dir, "work")));
  return result.stderr;
}

const line = (text: string, needle: string) => text.split("\n").findIndex((l) => l.includes(needle)) + 1;

test("an unknown key names its line and path and suggests the right one", async () => {
  const text = gridStudy().replace("mixes: {", "mixs: {");
  const stderr = await plan(text);
  assert.match(stderr, new RegExp(`bad\\.yaml:${line(text, "mixs:")}: mixs: unknown key \\(did you mean "mixes"\\?\\)`));
  assert.match(stderr, /mixes: required, but missing/);
});

test("a wrong type deep inside names the key path and its line", async () => {
  const text = gridStudy().replace("beta: [0.05, 0.1]", "beta: [0.05, high]");
  const stderr = await plan(text);
  assert.match(stderr, new RegExp(`bad\\.yaml:${line(text, "beta:")}: dpo\\.beta\\.1: .*number`));
});

test("names that must refer to each other: a mix language without data, a DPO language without pairs", async () => {
  let text = gridStudy().replace("add: fi", "add: sv");
  assert.match(await plan(text), new RegExp(`bad\\.yaml:${line(text, "add: sv")}: mixes\\.add: no instruction data for language "sv"[\\s\\S]*hint: data\\.instructions has: en, fi`));
  text = gridStudy().replace("data: { en: [en] }", "data: { both: [en, fi] }");
  assert.match(await plan(text), /dpo\.data\.both\.1: no preference data for language "fi"/);
  text = gridStudy().replace("from: { best: heldout-loss }", "from: { best: share }");
  assert.match(await plan(text), /dpo\.from\.best: choosing by share needs eval\.share/);
});

test("a bad recipe override is reported with the study key that set it", async () => {
  const stderr = await plan(gridStudy().replace("training.save_every_steps: 2 }\ndpo", "training.save_evry_steps: 2 }\ndpo"));
  assert.match(stderr, /bad\.yaml:\d+: sft\.set: .*tiny-sft\.yaml: invalid recipe:\n.*training\.save_evry_steps: unknown field \(did you mean "save_every_steps"\?\)/);
});

test("invalid YAML names its line", async () => {
  const stderr = await plan("name: x\nmodel: [unclosed\n");
  assert.match(stderr, /bad\.yaml:\d+: invalid YAML/);
});

test("a bad translate block names the key inside it, its line, and what it may refer to", async () => {
  const fi = `fi: ${root}/studies/data/tiny-fi-train.jsonl`;
  const translated = (block: string) => gridStudy().replace(fi, `fi:\n      translate: ${block}`);
  let text = translated("{ from: en, model: m, options: { concurency: 4 } }");
  assert.match(await plan(text), new RegExp(`bad\\.yaml:${line(text, "translate:")}: data\\.instructions\\.fi\\.translate\\.options\\.concurency: unknown key \\(did you mean "concurrency"\\?\\)`));
  text = translated("{ from: en, model: m, backend: vllm }");
  assert.match(await plan(text), /data\.instructions\.fi\.translate\.backend: Invalid option: expected one of "openai"\|"engine"/);
  text = translated("{ from: en }");
  assert.match(await plan(text), new RegExp(`bad\\.yaml:${line(text, "translate:")}: data\\.instructions\\.fi\\.translate\\.model: required, but missing`));
  text = translated("{ from: sv, model: m }");
  assert.match(await plan(text), /data\.instructions\.fi\.translate\.from: no instructions data for language "sv"[\s\S]*hint: data\.instructions has: en, fi/);
  text = translated("{ from: fi, model: m }");
  assert.match(await plan(text), /data\.instructions\.fi\.translate\.from: fi cannot be translated from itself/);
  text = gridStudy().replace(fi, `fi:\n      translate: { from: en, model: m }\n      clean: { confg: c.yaml }`);
  assert.match(await plan(text), new RegExp(`bad\\.yaml:${line(text, "clean:")}: data\\.instructions\\.fi\\.clean\\.confg: unknown key \\(did you mean "config"\\?\\)`));
});

test("paths in a recipe override are relative to the study file, not to the recipe", async () => {
  // The recipe lives in recipes/; the eval pairs sit next to the study, as a user writes them.
  const own = join(dir, "own-study");
  mkdirSync(join(own, "data"), { recursive: true });
  copyFileSync(join(root, "examples/tiny-train/pairs-en.jsonl"), join(own, "data/pairs-eval.jsonl"));
  const text = gridStudy()
    .replace("set: { training.epochs: 1, training.save_every_steps: 2 }\nfrom", "set: { training.epochs: 1, data.eval: data/pairs-eval.jsonl }\nfrom")
    .replace("dpo:\n  recipe: " + root + "/recipes/tiny-dpo.yaml\n  set: { training.epochs: 1, training.save_every_steps: 2 }", "dpo:\n  recipe: " + root + "/recipes/tiny-dpo.yaml\n  set: { training.epochs: 1, data.eval: data/pairs-eval.jsonl }");
  assert.match(text, /data\.eval: data\/pairs-eval\.jsonl/, "the study sets a relative data.eval");
  const plan = await buildPlan(await loadStudy(writeStudy(own, text, "study.yaml")), join(own, "work"));
  const dpo = plan.steps.find((s) => s.kind === "dpo")!;
  assert.ok(dpo.args.includes(`data.eval=${JSON.stringify(join(own, "data/pairs-eval.jsonl"))}`), dpo.args.join(" "));
});
