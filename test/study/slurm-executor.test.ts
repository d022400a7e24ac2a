/**
 * The Slurm executor against a real single-node Slurm cluster (test/study/slurm-cluster.ts): real
 * kielo commands with the tiny model as sbatch jobs — `data convert` → `data compile` and
 * `train sft`, next to a branch whose first step fails. Dependencies hold (afterok), every step
 * has its log and batch script, the failure cancels exactly its dependents while the other branch
 * completes, the status reader agrees with Slurm, aborting scancels running jobs (kielo gets
 * SIGTERM and stops its engine at a checkpoint), and a run that was cut off is followed, not
 * submitted again.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, test } from "node:test";
import type { StepUpdate } from "../../src/study/executor.ts";
import { readSlurmJobs } from "../../src/study/executors/slurm.ts";
import { examples, model, root, slurmTestbed } from "./slurm-testbed.ts";

// Two stand-in GPUs: steps that need GPUs are submitted with --gres, as on a GPU cluster.
const { cluster, workspace, executor, step, sftRecipe, runStatus, stop } = await slurmTestbed({ gpus: 2 });
after(stop);

/** Start and end times (seconds) of finished jobs, from the cluster's jobcomp/filetxt log. */
function jobTimes(): Map<string, { start: string; end: string; state: string }> {
  const out = new Map<string, { start: string; end: string; state: string }>();
  for (const line of readFileSync(cluster.jobcompLog, "utf8").trim().split("\n")) {
    const field = (key: string) => new RegExp(`\\b${key}=(\\S*)`).exec(line)?.[1] ?? "";
    out.set(field("JobId"), { start: field("StartTime"), end: field("EndTime"), state: field("JobState") });
  }
  return out;
}

/** The one batch script in a step's folder (`<id>-<hash>.sbatch`). */
function batchScriptOf(id: string): string {
  const folder = join(workspace, "steps", id);
  const scripts = readdirSync(folder).filter((name) => name.endsWith(".sbatch"));
  assert.equal(scripts.length, 1);
  assert.match(scripts[0]!, new RegExp(`^${id.replace("/", "_")}-[0-9a-f]{10}\\.sbatch$`));
  return readFileSync(join(folder, scripts[0]!), "utf8");
}

test("a DAG of kielo steps as Slurm jobs: afterok order, logs, a failure cancels exactly its dependents", async () => {
  const records = join(workspace, "records.jsonl");
  const jobs = [
    step("data/convert", ["data", "convert", join(examples, "sft-fi.jsonl"), "--format", "messages", "--out", records]),
    step("data/compile", ["data", "compile", records, "--tokenizer", model, "--template", "llama-2", "--out", join(workspace, "compiled"), "--quiet"], ["data/convert"]),
    // It needs a GPU: --gres=gpu:1 (gres: auto sees GPUs on the cluster); the engine finds no CUDA and trains on the CPU.
    { ...step("train/sft", ["train", "sft", await sftRecipe("sft", 1, records), "--quiet"], ["data/convert"]), gpus: 1 },
    // A branch that fails at its first step: its input does not exist.
    step("broken/convert", ["data", "convert", join(workspace, "missing.jsonl"), "--format", "messages", "--out", join(workspace, "never.jsonl")]),
    step("broken/compile", ["data", "compile", join(workspace, "never.jsonl"), "--tokenizer", model, "--out", join(workspace, "never")], ["broken/convert"]),
    step("broken/train", ["train", "sft", await sftRecipe("never", 1)], ["broken/compile", "data/convert"]),
    // More GPUs than the cluster has: sbatch refuses it, and its dependent is not submitted.
    { ...step("huge/train", ["--version"]), gpus: 3 },
    step("huge/eval", ["--version"], ["huge/train"]),
  ];
  const updates: StepUpdate[] = [];
  const started = Date.now();
  const results = await executor.run(jobs, (update) => updates.push(update), new AbortController().signal);
  const seconds = (Date.now() - started) / 1000;

  const states = Object.fromEntries([...results].map(([id, update]) => [id, update.state]));
  assert.deepEqual(states, {
    "data/convert": "done",
    "data/compile": "done",
    "train/sft": "done",
    "broken/convert": "failed",
    "broken/compile": "cancelled",
    "broken/train": "cancelled",
    "huge/train": "failed",
    "huge/eval": "cancelled",
  }, `${JSON.stringify([...results.values()], null, 1)}\n${cluster.logs()}`);
  assert.equal(results.get("broken/convert")!.exitCode, 1);
  assert.match(results.get("broken/convert")!.reason!, /exit code 1/);
  assert.equal(results.get("broken/compile")!.reason, "dependency broken/convert failed");
  assert.equal(results.get("broken/train")!.reason, "dependency broken/compile was cancelled");
  assert.equal(results.get("train/sft")!.exitCode, 0);
  assert.match(results.get("huge/train")!.reason!, /^sbatch refused the step: sbatch: error: .*Requested node configuration is not available/);
  assert.equal(results.get("huge/eval")!.reason, "dependency huge/train was not submitted");

  // Every step was submitted and reported waiting first, with its Slurm job id.
  for (const job of jobs.filter((j) => !j.id.startsWith("huge/"))) {
    const first = updates.find((u) => u.id === job.id)!;
    assert.equal(first.state, "waiting");
    assert.match(first.externalId!, /^\d+$/);
    assert.equal(results.get(job.id)!.externalId, first.externalId);
  }

  // The real outputs exist; the environment reached the steps (their runs are in this kielo.db).
  assert.ok(existsSync(join(workspace, "compiled", "manifest.json")));
  assert.ok(existsSync(join(workspace, "runs", "sft", "model", "adapter_config.json")));
  assert.equal(runStatus("sft"), "done");
  assert.equal(runStatus("never"), undefined);

  // A log and a batch script per step.
  assert.match(readFileSync(jobs[0]!.logPath, "utf8"), /records out: 64/);
  assert.match(readFileSync(jobs[2]!.logPath, "utf8"), /done: 4 steps/);
  assert.match(readFileSync(jobs[3]!.logPath, "utf8"), /missing\.jsonl/);
  const script = batchScriptOf("train/sft");
  assert.match(script, / --gres=gpu:1 /);
  assert.doesNotMatch(batchScriptOf("data/convert"), /--gres/);
  assert.match(script, /--dependency=afterok:\d+/);
  assert.match(script, new RegExp(`exec ${process.execPath.replaceAll("/", "\\/")} `));

  // afterok: a dependent started only once its dependency had ended (Slurm's own record).
  const times = jobTimes();
  const id = (step: string) => results.get(step)!.externalId!;
  for (const [before, later] of [["data/convert", "data/compile"], ["data/convert", "train/sft"]] as const) {
    assert.ok(times.get(id(later))!.start >= times.get(id(before))!.end, `${later} started before ${before} ended`);
  }
  assert.equal(times.get(id("broken/train"))!.state, "CANCELLED");

  // The status reader (kielo study status) sees the same; a job Slurm never had is unknown.
  const statuses = await readSlurmJobs([...jobs.map((job) => id(job.id)), "999999"]);
  assert.equal(statuses.get(id("train/sft"))!.slurmState, "COMPLETED");
  assert.equal(statuses.get(id("broken/convert"))!.slurmState, "FAILED");
  assert.equal(statuses.get(id("broken/convert"))!.exitCode, 1);
  assert.equal(statuses.get(id("broken/compile"))!.state, "cancelled");
  assert.equal(statuses.get(id("broken/compile"))!.reason, "DependencyNeverSatisfied");
  assert.deepEqual(statuses.get("999999"), { jobId: "999999", slurmState: "UNKNOWN", state: undefined, source: "none" });
  assert.ok(seconds < 60, `the DAG took ${seconds} s`);
});

test("aborting scancels the submission: kielo stops its engine at a checkpoint, dependents are cancelled", async () => {
  const jobs = [
    step("train/long", ["train", "sft", await sftRecipe("long", 400), "--quiet"]),
    step("train/after-long", ["train", "sft", await sftRecipe("after-long", 1), "--quiet"], ["train/long"]),
  ];
  const controller = new AbortController();
  const events = join(workspace, "runs", "long", "events.jsonl");
  const updates: StepUpdate[] = [];
  const running = executor.run(jobs, (update) => updates.push(update), controller.signal);
  // Abort once the engine is training (its first step is logged).
  for (let i = 0; i < 600 && !(existsSync(events) && readFileSync(events, "utf8").includes('"type": "step"')); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(updates.some((u) => u.id === "train/long" && u.state === "running"));
  controller.abort();
  const results = await running;
  assert.equal(results.get("train/long")!.state, "cancelled");
  assert.equal(results.get("train/long")!.reason, "aborted");
  assert.equal(results.get("train/after-long")!.state, "cancelled");

  const statuses = await readSlurmJobs(jobs.map((job) => results.get(job.id)!.externalId!));
  assert.deepEqual([...statuses.values()].map((s) => s.slurmState), ["CANCELLED", "CANCELLED"]);
  // scancel's SIGTERM reached kielo itself (the script execs it): the run stopped at a checkpoint.
  for (let i = 0; i < 250 && runStatus("long") === "running"; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(runStatus("long"), "interrupted");
  assert.match(readFileSync(events, "utf8"), /"type": "checkpoint"/);
  assert.equal(runStatus("after-long"), undefined);
});

test("a run cut off (kielo killed) leaves its jobs in Slurm; the next run follows them, submitting nothing twice", async () => {
  const jobs = [
    step("again/train", ["train", "sft", await sftRecipe("again", 1), "--quiet"]),
    step("again/compile", ["data", "compile", join(examples, "sft-fi.jsonl"), "--tokenizer", model, "--template", "llama-2", "--out", join(workspace, "again-compiled"), "--quiet"], ["again/train"]),
  ];
  // The first run: a kielo process that submits the steps and is killed outright (SIGKILL: no scancel).
  const first = [
    `import { SlurmExecutor, slurmExecutorOptions } from ${JSON.stringify(join(root, "src", "study", "executors", "slurm.ts"))};`,
    `const jobs = ${JSON.stringify(jobs)};`,
    `const executor = new SlurmExecutor(slurmExecutorOptions({ partition: ${JSON.stringify(cluster.partition)}, poll_seconds: 0.3 }));`,
    "await executor.run(jobs, (update) => console.log(JSON.stringify(update)), new AbortController().signal);",
  ].join("\n");
  const child = spawn(process.execPath, ["--input-type=module", "-e", first], { stdio: ["ignore", "pipe", "inherit"] });
  const submitted = new Map<string, string>();
  for await (const line of createInterface({ input: child.stdout })) {
    const update = JSON.parse(line) as StepUpdate;
    if (update.externalId) submitted.set(update.id, update.externalId);
    if (submitted.size === jobs.length) break;
  }
  child.kill("SIGKILL");
  // The next run adopts both (one still waiting for the other) and follows them to the end.
  const results = await executor.run(jobs, () => {}, new AbortController().signal);
  for (const job of jobs) {
    assert.equal(results.get(job.id)!.state, "done", readFileSync(job.logPath, "utf8"));
    assert.equal(results.get(job.id)!.externalId, submitted.get(job.id));
  }
  const names = readFileSync(cluster.jobcompLog, "utf8").split("\n").filter((line) => / Name=again\//.test(line));
  assert.equal(names.length, 2, names.join("\n"));
  assert.equal(runStatus("again"), "done");
});
