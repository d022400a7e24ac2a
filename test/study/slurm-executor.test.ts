/**
 * The Slurm executor against a real single-node Slurm cluster (test/study/slurm-cluster.ts): real
 * kielo commands with the tiny model as sbatch jobs — `data convert` → `data compile` and
 * `train sft`, next to a branch whose first step fails. Dependencies hold (afterok), every step
 * has its log and batch script, the failure cancels exactly its dependents while the other branch
 * completes, the status reader agrees with Slurm, and aborting scancels running jobs (kielo gets
 * SIGTERM and stops its engine at a checkpoint).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, test } from "node:test";
import type { StepJob, StepUpdate } from "../../src/study/executor.ts";
import { batchScript, sbatchArgs } from "../../src/study/executors/slurm-script.ts";
import { readSlurmJobs, SlurmExecutor, slurmExecutorOptions } from "../../src/study/executors/slurm.ts";
import { freePort, startSlurmCluster } from "./slurm-cluster.ts";

const root = new URL("../../", import.meta.url).pathname;
const kielo = join(root, "bin", "kielo.js");
const model = join(root, "fixtures", "models", "stories260K", "hf");
const examples = join(root, "examples", "tiny-train");

const cluster = await startSlurmCluster();
const workspace = await mkdtemp(join(tmpdir(), "kielo-slurm-steps-"));
after(async () => {
  await cluster.stop();
  await rm(workspace, { recursive: true, force: true });
});

const db = join(workspace, "kielo.db");
const executor = new SlurmExecutor(slurmExecutorOptions({ partition: cluster.partition, poll_seconds: 0.3 }));

function step(id: string, args: string[], dependsOn: string[] = []): StepJob {
  return {
    id,
    argv: [process.execPath, kielo, ...args],
    cwd: workspace,
    env: { KIELO_DB: db, OMP_NUM_THREADS: "1" },
    gpus: 0,
    logPath: join(workspace, "steps", id, "log.txt"),
    dependsOn,
  };
}

/** A tiny LoRA SFT recipe; its data by default the example records (tests that do not convert first). */
async function sftRecipe(name: string, epochs: number, data = join(examples, "sft-fi.jsonl"), lora = true): Promise<string> {
  const path = join(workspace, `${name}.yaml`);
  const recipe = {
    method: "sft",
    model,
    dtype: "fp32",
    data: { train: data, template: "llama-2", policy: "assistant", max_length: 128 },
    ...(lora ? { adapter: { type: "lora", r: 4, alpha: 8, dropout: 0 } } : {}),
    training: { epochs, micro_batch_size: 8, global_batch_size: 16, lr: 2e-3, seed: 1, save_every_steps: 2 },
    output: join(workspace, "runs", name),
  };
  await writeFile(path, JSON.stringify(recipe)); // JSON is YAML
  return path;
}

function runStatus(name: string): string | undefined {
  const handle = new DatabaseSync(db, { readOnly: true });
  try {
    const row = handle.prepare("SELECT status FROM runs WHERE kind = 'sft' AND label = ? ORDER BY id DESC LIMIT 1").get(name) as { status: string } | undefined;
    return row?.status;
  } finally {
    handle.close();
  }
}

/** Start and end times (seconds) of finished jobs, from the cluster's jobcomp/filetxt log. */
function jobTimes(): Map<string, { start: string; end: string; state: string }> {
  const out = new Map<string, { start: string; end: string; state: string }>();
  for (const line of readFileSync(cluster.jobcompLog, "utf8").trim().split("\n")) {
    const field = (key: string) => new RegExp(`\\b${key}=(\\S*)`).exec(line)?.[1] ?? "";
    out.set(field("JobId"), { start: field("StartTime"), end: field("EndTime"), state: field("JobState") });
  }
  return out;
}

test("a DAG of kielo steps as Slurm jobs: afterok order, logs, a failure cancels exactly its dependents", async () => {
  const records = join(workspace, "records.jsonl");
  const jobs = [
    step("data/convert", ["data", "convert", join(examples, "sft-fi.jsonl"), "--format", "messages", "--out", records]),
    step("data/compile", ["data", "compile", records, "--tokenizer", model, "--template", "llama-2", "--out", join(workspace, "compiled"), "--quiet"], ["data/convert"]),
    step("train/sft", ["train", "sft", await sftRecipe("sft", 1, records), "--quiet"], ["data/convert"]),
    // A branch that fails at its first step: its input does not exist.
    step("broken/convert", ["data", "convert", join(workspace, "missing.jsonl"), "--format", "messages", "--out", join(workspace, "never.jsonl")]),
    step("broken/compile", ["data", "compile", join(workspace, "never.jsonl"), "--tokenizer", model, "--out", join(workspace, "never")], ["broken/convert"]),
    step("broken/train", ["train", "sft", await sftRecipe("never", 1)], ["broken/compile", "data/convert"]),
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
  }, `${JSON.stringify([...results.values()], null, 1)}\n${cluster.logs()}`);
  assert.equal(results.get("broken/convert")!.exitCode, 1);
  assert.match(results.get("broken/convert")!.reason!, /exit code 1/);
  assert.equal(results.get("broken/compile")!.reason, "dependency broken/convert failed");
  assert.equal(results.get("broken/train")!.reason, "dependency broken/compile was cancelled");
  assert.equal(results.get("train/sft")!.exitCode, 0);

  // Every step was submitted and reported waiting first, with its Slurm job id.
  for (const job of jobs) {
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
  const script = readFileSync(join(workspace, "steps", "train", "sft", "train_sft.sbatch"), "utf8");
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

test("a step on several nodes: kielo starts torchrun with srun and a c10d rendezvous (one node, two CPU ranks here)", async (t) => {
  const name = "ranks";
  // Full fine-tuning: sharded with FSDP2 over the two gloo ranks.
  const recipe = await sftRecipe(name, 1, undefined, false);
  const job = step("train/ranks", ["train", "sft", recipe, "--gpus", "2", "--quiet"]);
  // What the batch script of a multi-node step exports (this cluster has one node: set by hand).
  job.env = { ...job.env, KIELO_NNODES: "1", KIELO_RDZV_ENDPOINT: `127.0.0.1:${await freePort()}`, KIELO_RDZV_ID: "kielo-test" };
  const results = await executor.run([job], () => {}, new AbortController().signal);
  const log = readFileSync(job.logPath, "utf8");
  // Both ranks met at the rendezvous: rank 0 reports a world of 2.
  const start = readFileSync(join(workspace, "runs", name, "events.jsonl"), "utf8").split("\n").find((line) => line.includes('"type": "start"'));
  assert.ok(start, log);
  assert.equal((JSON.parse(start) as { world_size: number }).world_size, 2);
  // The engine ran as a job step (srun) of the step's Slurm job.
  assert.match(readFileSync(join(cluster.dir, "log", "slurmd.log"), "utf8"), new RegExp(`StepId=${results.get(job.id)!.externalId}\\.0\\b`));
  await t.test("and the step finishes", { todo: "engine: two CPU ranks of `kielo train --gpus 2` stop with \"aten.embedding.default got mixed torch.Tensor and DTensor\" (on main, without Slurm too)" }, () => {
    assert.equal(results.get(job.id)!.state, "done", log);
    assert.equal(runStatus(name), "done");
  });
});

test("a multi-node step's sbatch line and batch script: nodes, GPUs per node, rendezvous on the first node", () => {
  const options = slurmExecutorOptions({ gpus_per_node: 4, partition: "gpu", time: "1-00:00:00", rdzv_port: 29512 });
  const job = { ...step("train/big", ["train", "sft", "r.yaml", "--gpus", "8"]), gpus: 8 };
  const args = sbatchArgs(job, options, ["11", "12"], true);
  for (const arg of ["--nodes=2", "--ntasks-per-node=1", "--gres=gpu:4", "--partition=gpu", "--time=1-00:00:00", "--dependency=afterok:11:12", "--job-name=train/big"]) {
    assert.ok(args.includes(arg), `${arg} not in ${args.join(" ")}`);
  }
  assert.ok(!sbatchArgs({ ...job, gpus: 4 }, options, [], true).some((arg) => arg.startsWith("--nodes")));
  assert.ok(!sbatchArgs(job, options, [], false).some((arg) => arg.startsWith("--gres")));
  // The script, run as Slurm would on the first of two nodes: it exports the rendezvous and execs.
  const printEnv = { ...job, argv: [process.execPath, "-e", "console.log([process.cwd(), process.env.KIELO_NNODES, process.env.KIELO_RDZV_ENDPOINT, process.env.KIELO_RDZV_ID, process.env.KIELO_DB].join(' '))"] };
  const script = batchScript(printEnv, options, "sbatch …");
  const result = spawnSync("sh", ["-c", script], {
    encoding: "utf8",
    env: { ...process.env, SLURM_JOB_NUM_NODES: "2", SLURM_JOB_NODELIST: "gpu-[07-08]", SLURM_JOB_ID: "4242" },
  });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), `${workspace} 2 gpu-07:29512 4242 ${db}`);
  assert.throws(() => sbatchArgs({ ...job, gpus: 6 }, options, [], true), /6 GPUs, which do not fill whole nodes of 4 GPUs/);
});
