/**
 * Steps on several nodes: the sbatch line and batch script of a multi-node step, and kielo's engine
 * launch through srun with a c10d rendezvous, run for real on the single-node test cluster (one
 * node, two CPU ranks).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { batchScript, sbatchArgs } from "../../src/study/executors/slurm-script.ts";
import { slurmExecutorOptions } from "../../src/study/executors/slurm.ts";
import { freePort } from "./slurm-cluster.ts";
import { slurmTestbed } from "./slurm-testbed.ts";

const { cluster, workspace, db, executor, step, sftRecipe, runStatus, stop } = await slurmTestbed();
after(stop);

test("a step on several nodes: kielo starts torchrun with srun and a c10d rendezvous (one node, two CPU ranks here)", async (t) => {
  const name = "ranks";
  // Full fine-tuning: sharded with FSDP2 over the two gloo ranks.
  const recipe = await sftRecipe(name, 1, undefined, false);
  // Two GPUs: this cluster has no GPU gres, so gres: auto asks for none and the step runs on the CPU.
  const job = { ...step("train/ranks", ["train", "sft", recipe, "--gpus", "2", "--quiet"]), gpus: 2 };
  // What the batch script of a multi-node step exports (this cluster has one node: set by hand).
  job.env = { ...job.env, KIELO_NNODES: "1", KIELO_RDZV_ENDPOINT: `127.0.0.1:${await freePort()}`, KIELO_RDZV_ID: "kielo-test" };
  const results = await executor.run([job], () => {}, new AbortController().signal);
  const log = readFileSync(job.logPath, "utf8");
  // Both ranks met at the rendezvous: rank 0 reports a world of 2.
  const start = readFileSync(join(workspace, "runs", name, "events.jsonl"), "utf8").split("\n").find((line) => line.includes('"type": "start"'));
  assert.ok(start, log);
  assert.equal((JSON.parse(start) as { world_size: number }).world_size, 2);
  const script = readdirSync(join(workspace, "steps", "train", "ranks")).find((name) => name.endsWith(".sbatch"))!;
  assert.doesNotMatch(readFileSync(join(workspace, "steps", "train", "ranks", script), "utf8"), /--gres/);
  // The engine ran as a job step (srun) of the step's Slurm job.
  assert.match(readFileSync(join(cluster.dir, "log", "slurmd.log"), "utf8"), new RegExp(`StepId=${results.get(job.id)!.externalId}\\.0\\b`));
  await t.test("and the step finishes", () => {
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
