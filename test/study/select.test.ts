/** `kielo study select --metric named`: the study named the DPO start; the step only links it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { kielo, tempDir } from "./helpers.ts";

test("select --metric named links the one candidate and records the choice; two candidates are refused", async () => {
  const dir = tempDir("study-select-named");
  const model = join(dir, "model");
  mkdirSync(model);
  const out = join(dir, "select");
  mkdirSync(out);
  const env = { KIELO_DB: join(dir, "kielo.db") };
  const ok = await kielo(["study", "select", "--metric", "named", "--candidate", `sft-a=${model}=${join(dir, "train")}`, "--out", out], { cwd: dir, env });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(readlinkSync(join(out, "model")), model);
  const choice = JSON.parse(readFileSync(join(out, "choice.json"), "utf8"));
  assert.equal(choice.chosen, "sft-a");
  assert.equal(choice.metric, "named");

  const two = await kielo(["study", "select", "--metric", "named", "--candidate", `a=${model}=x`, "--candidate", `b=${model}=y`, "--out", out], { cwd: dir, env });
  assert.notEqual(two.code, 0);
  assert.match(two.stderr, /--metric named takes exactly one --candidate, got 2/);
  assert.doesNotMatch(two.stderr, /internal error/);
});
