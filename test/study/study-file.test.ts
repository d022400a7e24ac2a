/** Bad study files: each error names the file, line and key path, with a hint; nothing runs. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gridStudy, kielo, tempDir, writeStudy } from "./helpers.ts";

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
