/**
 * `kielo study run --executor slurm` and `kielo study status` through the CLI, against a real
 * single-node Slurm (slurm-cluster.ts): a small study's steps are submitted with sbatch and finish;
 * a run killed after submitting leaves its jobs in Slurm, and `study status` reports what Slurm
 * says about them (a cancelled job whose step never started shows as failed, which the step
 * folders alone cannot know).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { finish, kielo, start } from "../robust/helpers.ts";
import { TINY_STUDY_INPUTS, writeStudy } from "./helpers.ts";
import { root, slurmTestbed } from "./slurm-testbed.ts";

const { cluster, workspace, db, stop } = await slurmTestbed();
after(stop);

/** convert → mix → SFT → held-out loss; `epochs` changes only the SFT step (and its evaluation). */
function study(epochs: number): string {
  return `name: slurm-cli
${TINY_STUDY_INPUTS}mixes: { base: en, add: fi, fractions: [0.5], seed: 42 }
sft:
  recipe: ${root}recipes/tiny-sft.yaml
  set: { training.epochs: ${epochs}, training.save_every_steps: 2 }
eval:
  base: false
  heldout: ${root}studies/data/tiny-fi-heldout.jsonl
executor: { kind: slurm, partition: ${cluster.partition}, poll_seconds: 0.3 }
`;
}

const STEPS = ["data/convert-instructions-en", "mix/en-fi-50pct", "train/sft-en-fi-50pct-default", "eval/sft-en-fi-50pct-default/heldout"];
const work = join(workspace, "work");
const env = { KIELO_DB: db };
const jobIds = () => (JSON.parse(readFileSync(join(work, "jobs.json"), "utf8")) as { executor: string; ids: Record<string, string> });
/** A step's batch scripts: next to its log, named after the step id and a hash. */
const batchScripts = (id: string) => {
  const folder = dirname(join(work, "logs", `${id}.log`));
  return readdirSync(folder).filter((name) => name.startsWith(`${id.replaceAll("/", "_")}-`) && name.endsWith(".sbatch")).map((name) => join(folder, name));
};
/** Job id → final state, from the cluster's jobcomp/filetxt log. */
const finished = () =>
  readFileSync(cluster.jobcompLog, "utf8").trim().split("\n").map((line) => [/\bJobId=(\d+)/.exec(line)?.[1], /\bJobState=(\S+)/.exec(line)?.[1]] as const);

test("kielo study run --executor slurm submits every step with sbatch and they finish; status shows the grid done", { timeout: 300_000 }, async () => {
  const file = writeStudy(workspace, study(1));
  const run = await kielo(["study", "run", file, "--work-dir", work, "--executor", "slurm"], { cwd: workspace, env });
  assert.equal(run.code, 0, `${run.stderr}${run.stdout}\n${cluster.logs()}`);
  assert.match(run.stdout, /4 steps run, 0 already done, 0 failed/);

  // Each step was a Slurm job: its id in jobs.json, COMPLETED in Slurm's record, its batch script and log.
  const known = jobIds();
  assert.equal(known.executor, "slurm");
  assert.deepEqual(Object.keys(known.ids).sort(), [...STEPS].sort());
  const states = new Map(finished());
  for (const id of STEPS) {
    assert.equal(states.get(known.ids[id]), "COMPLETED", id);
    assert.ok(existsSync(join(work, "logs", `${id}.log`)), id);
    assert.equal(batchScripts(id).length, 1, id);
  }
  const train = readFileSync(batchScripts("train/sft-en-fi-50pct-default")[0]!, "utf8");
  assert.match(train, new RegExp(`--dependency=afterok:${known.ids["mix/en-fi-50pct"]}\\b`));

  const status = await kielo(["study", "status", file, "--work-dir", work], { cwd: workspace, env });
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^sft-en-fi-50pct-default\s+✓\s+✓/m);
  assert.match(status.stdout, /done 4, running 0, waiting 0, failed 0/);

  // Again: everything is done, nothing is submitted.
  const again = await kielo(["study", "run", file, "--work-dir", work], { cwd: workspace, env });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /0 steps run, 4 already done/);
  assert.equal(finished().length, STEPS.length);
});

test("kielo study status reads the jobs of a killed run from Slurm: running, and cancelled before it started", { timeout: 300_000 }, async () => {
  // More epochs: a new SFT step (and its evaluation, waiting on it with afterok); data steps stay done.
  const file = writeStudy(workspace, study(400));
  const before = jobIds().ids;
  const child = start(["study", "run", file, "--work-dir", work], { cwd: workspace, env });
  const done = finish(child);
  const resubmitted = () => {
    try {
      const ids = jobIds().ids;
      return STEPS.slice(2).every((id) => ids[id] !== before[id]) ? ids : undefined;
    } catch {
      return undefined; // not written yet
    }
  };
  let ids: Record<string, string> | undefined;
  for (let i = 0; i < 600 && (ids = resubmitted()) === undefined && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
  child.kill("SIGKILL"); // no scancel: the jobs go on in Slurm
  const killed = await done;
  assert.ok(ids !== undefined, `the run did not submit the new steps: ${JSON.stringify(killed)}`);

  // The evaluation is still waiting for the training; cancelled now, it never starts, so its step
  // folder still holds the first run's result (stale: done with the old hash). Only Slurm knows.
  const evalId = ids["eval/sft-en-fi-50pct-default/heldout"]!;
  const trainId = ids["train/sft-en-fi-50pct-default"]!;
  const scancel = spawnSync("scancel", [evalId], { encoding: "utf8" });
  assert.equal(scancel.status, 0, scancel.stderr);
  // Wait for the training to be running in Slurm (its step folder says so too).
  for (let i = 0; i < 300; i++) {
    const squeue = spawnSync("squeue", ["-h", "-j", trainId, "-o", "%T"], { encoding: "utf8" });
    if (squeue.stdout.trim() === "RUNNING") break;
    await new Promise((r) => setTimeout(r, 100));
  }

  const status = await kielo(["study", "status", file, "--work-dir", work], { cwd: workspace, env });
  assert.equal(status.code, 0, status.stderr);
  // Columns: train, heldout.
  assert.match(status.stdout, /^sft-en-fi-50pct-default\s+▶\s+✗/m, status.stdout);
  assert.match(status.stdout, /^✓ data\/convert-instructions-en$/m);
  assert.match(status.stdout, /^✓ mix\/en-fi-50pct$/m);
  assert.match(status.stdout, new RegExp(`eval/sft-en-fi-50pct-default/heldout: log ${work}/logs/eval/sft-en-fi-50pct-default/heldout\\.log`));
  assert.match(status.stdout, /done 2, running 1, waiting 0, failed 1, stale 0/);
});
