/**
 * `kielo study run --only`, the run summary of a failed step, and `kielo study status`, through
 * the CLI with the local executor on the tiny model: a step fails for real (its IFEval prompt file
 * is broken), independent steps still finish, and both the summary and the status name the failed
 * step and its log.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { doneSteps, kielo, root, tempDir, TINY_STUDY_INPUTS, writeStudy } from "./helpers.ts";

const dir = tempDir("study-cli");
const work = join(dir, "work");
const env = { KIELO_DB: join(dir, "kielo.db") };
const broken = join(dir, "ifeval-broken.jsonl");
writeFileSync(broken, '{"key": 1, "prompt": "Write a poem."\nnot json at all\n');

const file = writeStudy(dir, `name: cli
${TINY_STUDY_INPUTS}mixes: { base: en, add: fi, fractions: [0, 0.5], seed: 42 }
sft:
  recipe: ${root}recipes/tiny-sft.yaml
  set: { training.epochs: 1 }
  variants: { default: { mixes: [en-fi-50pct] } }
eval:
  base: false
  ifeval: { en: ${broken} }
  heldout: ${root}studies/data/tiny-fi-heldout.jsonl
  generation: { max_new_tokens: 8 }
resources: { cpu_parallel: 2 }
`);
const study = (...args: string[]) => kielo(["study", ...args, file, "--work-dir", work], { cwd: dir, env });
const GEN = "gen/sft-en-fi-50pct-default/ifeval-en";

test("--only runs the matching steps and their dependencies, nothing else", { timeout: 120_000 }, async () => {
  const run = await study("run", "--only", "mix/en-fi-50pct");
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /2 steps run, 0 already done, 0 failed/);
  assert.deepEqual([...doneSteps(work).keys()].sort(), ["data/convert-instructions-en", "mix/en-fi-50pct"]);

  const none = await study("run", "--only", "train/nothing-*");
  assert.equal(none.code, 1);
  assert.match(none.stderr, /--only train\/nothing-\*: no step matches/);
});

test("a failed step does not stop independent steps; the summary and status name it and its log", { timeout: 300_000 }, async () => {
  const run = await study("run");
  assert.equal(run.code, 1, run.stderr + run.stdout);
  // The other mix, the training and the held-out loss finished; the IFEval scoring waited on the failed generation.
  assert.match(run.stdout, /3 steps run, 2 already done, 2 failed or cancelled/);
  const done = [...doneSteps(work).keys()].sort();
  assert.deepEqual(done, ["data/convert-instructions-en", "eval/sft-en-fi-50pct-default/heldout", "mix/en-fi-0pct", "mix/en-fi-50pct", "train/sft-en-fi-50pct-default"]);

  const log = join(work, "logs", `${GEN}.log`);
  assert.match(run.stdout, new RegExp(`✗ ${GEN}: .*\\n    log: ${log}\\n`));
  assert.match(run.stdout, new RegExp(`✗ eval/sft-en-fi-50pct-default/ifeval-en: dependency ${GEN} failed`));
  assert.match(run.stderr, /2 step\(s\) did not finish/);
  assert.ok(existsSync(log));
  assert.match(readFileSync(log, "utf8"), /ifeval-broken\.jsonl/, "the log says which file is broken");

  const status = await study("status");
  assert.equal(status.code, 0, status.stderr);
  // Columns: train, heldout, gen-ifeval-en, ifeval-en.
  assert.match(status.stdout, /^model\s+train\s+heldout\s+gen-ifeval-en\s+ifeval-en/m);
  assert.match(status.stdout, /^sft-en-fi-50pct-default\s+✓\s+✓\s+✗\s+·/m);
  assert.match(status.stdout, /^✓ mix\/en-fi-0pct$/m);
  assert.match(status.stdout, new RegExp(`failed:\\n  ${GEN}: log ${log}\\n`));
  assert.match(status.stdout, /done 5, running 0, waiting 1, failed 1, stale 0/);
  // Local runs record their pids, which status does not need to ask anyone about.
  assert.equal((JSON.parse(readFileSync(join(work, "jobs.json"), "utf8")) as { executor: string }).executor, "local");
});
