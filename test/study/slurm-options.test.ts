/**
 * The Slurm executor's settings (a study file's `executor:` block) and what it refuses before
 * anything is submitted: bad values, sbatch options it sets itself, unknown steps and cycles.
 * (Everything that talks to Slurm is in slurm-executor.test.ts, against a real cluster.)
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { StepJob } from "../../src/study/executor.ts";
import { shellQuote } from "../../src/study/executors/slurm-script.ts";
import { dependencyOrder, SlurmExecutorSchema } from "../../src/study/executors/slurm.ts";

function problems(yaml: string): string[] {
  const result = SlurmExecutorSchema.safeParse(parseYaml(yaml));
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
}

test("a study file's executor block: defaults, and every key checked", () => {
  const options = SlurmExecutorSchema.parse(parseYaml("kind: slurm\npartition: gpu\naccount: project_462000\ntime: 1-12:00:00\ngpus_per_node: 8\n"));
  assert.deepEqual(options, {
    kind: "slurm",
    partition: "gpu",
    account: "project_462000",
    time: "1-12:00:00",
    gpus_per_node: 8,
    gres: "auto",
    rdzv_port: 29500,
    sbatch_args: [],
    poll_seconds: 10,
  });
  for (const time of ["30", "2:00:00", "1-0", "UNLIMITED"]) assert.deepEqual(problems(`kind: slurm\ntime: "${time}"`), []);
  assert.deepEqual(problems("kind: slurm\ntime: 2h"), ["time: time is not a Slurm time limit (expected minutes, h:mm:ss or days-hh:mm:ss, e.g. 2:00:00)"]);
  assert.deepEqual(problems("kind: slurm\nmem: 64 GB"), ["mem: mem is not a Slurm memory size (e.g. 64G, 500M)"]);
  assert.deepEqual(problems("kind: slurm\ngres: sometimes"), ['gres: Invalid option: expected one of "auto"|"always"|"never"']);
  assert.deepEqual(problems("kind: slurm\npartiton: gpu"), [': Unrecognized key: "partiton"']);
  assert.deepEqual(problems("kind: slurm\ngpus_per_node: 0"), ["gpus_per_node: Too small: expected number to be >=1"]);
  assert.match(problems("kind: slurm\nsbatch_args: [--constraint=a100, --output=x.log]").join(), /sbatch_args: sbatch_args may not set --output/);
  assert.deepEqual(problems("kind: slurm\nsbatch_args: [--constraint=a100, --signal=B:TERM@120]"), []);
  assert.ok(SlurmExecutorSchema instanceof z.ZodObject);
});

function job(id: string, dependsOn: string[] = []): StepJob {
  return { id, argv: ["/bin/true"], cwd: "/", env: {}, gpus: 0, logPath: `/tmp/${id}.log`, dependsOn };
}

test("steps go to sbatch after the steps they need; unknown dependencies and cycles are named", () => {
  const order = dependencyOrder([job("report", ["eval/a", "eval/b"]), job("eval/a", ["train/a"]), job("eval/b", ["train/a"]), job("train/a")]);
  assert.deepEqual(order.map((j) => j.id), ["train/a", "eval/a", "eval/b", "report"]);
  assert.throws(() => dependencyOrder([job("eval/a", ["train/x"])]), /step eval\/a depends on train\/x, which is not in the submission/);
  assert.throws(() => dependencyOrder([job("a", ["b"]), job("b", ["c"]), job("c", ["a"])]), /cycle: a → b → c → a/);
  assert.throws(() => dependencyOrder([job("a"), job("a")]), /two steps have the id a/);
});

test("batch scripts quote every word for sh", () => {
  assert.equal(shellQuote("/usr/bin/node"), "/usr/bin/node");
  assert.equal(shellQuote("it's here"), `'it'\\''s here'`);
  assert.equal(shellQuote("$HOME"), "'$HOME'");
  assert.equal(shellQuote(""), "''");
});
