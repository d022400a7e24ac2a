/**
 * A study step as a Slurm batch job: the batch script (next to the step's log, so the job can be
 * read and resubmitted by hand) and the sbatch command line.
 *
 * The script only changes to the step's folder, exports the step's environment and execs its
 * command: no shell between Slurm and the step, so scancel's SIGTERM reaches kielo, which stops its
 * engine at a checkpoint. A step on several nodes runs the same command on the first node with
 * KIELO_NNODES / KIELO_RDZV_ENDPOINT / KIELO_RDZV_ID set from Slurm's environment; kielo's engine
 * launcher then starts torchrun on every node with `srun` and a c10d rendezvous (src/engine/multinode.ts).
 */
import { createHash } from "node:crypto";
import { dirname, resolve } from "node:path";
import { KieloError } from "../../util/errors.ts";
import type { StepJob } from "../executor.ts";
import type { SlurmExecutorOptions } from "./slurm-options.ts";

/** A word for sh, single-quoted unless it is plainly safe. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** How many nodes and GPUs per node a step asks for. */
export function stepShape(job: StepJob, options: SlurmExecutorOptions): { nodes: number; gpusPerNode: number } {
  const perNode = options.gpus_per_node;
  if (job.gpus <= 0) return { nodes: 1, gpusPerNode: 0 };
  if (perNode === undefined || job.gpus <= perNode) return { nodes: 1, gpusPerNode: job.gpus };
  if (job.gpus % perNode !== 0) {
    throw new KieloError(`step ${job.id} needs ${job.gpus} GPUs, which do not fill whole nodes of ${perNode} GPUs (executor.gpus_per_node)`, {
      hint: `give the step a multiple of ${perNode} GPUs, or set gpus_per_node to a divisor of ${job.gpus}`,
    });
  }
  return { nodes: job.gpus / perNode, gpusPerNode: perNode };
}

/**
 * Where a step's batch script goes: next to its log, named after the step and a hash of what it
 * runs (command, environment, folder, resources), so that a job left in the queue by an earlier run
 * is adopted only when it runs exactly this (src/study/executors/slurm.ts).
 */
export function scriptPath(job: StepJob, options: SlurmExecutorOptions): string {
  const { poll_seconds: _poll, ...settings } = options;
  const what = JSON.stringify({ argv: job.argv, env: job.env, cwd: job.cwd, gpus: job.gpus, log: job.logPath, settings });
  const hash = createHash("sha256").update(what).digest("hex").slice(0, 10);
  return resolve(dirname(job.logPath), `${job.id.replaceAll("/", "_")}-${hash}.sbatch`);
}

export function batchScript(job: StepJob, options: SlurmExecutorOptions, sbatchLine: string): string {
  const { nodes } = stepShape(job, options);
  const lines = [
    "#!/bin/sh",
    `# kielo study step ${job.id}, submitted by the slurm executor as:`,
    `#   ${sbatchLine}`,
    `cd ${shellQuote(job.cwd)} || exit 1`,
  ];
  for (const [key, value] of Object.entries(job.env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new KieloError(`step ${job.id}: environment variable name ${JSON.stringify(key)} is not valid in a shell`);
    lines.push(`export ${key}=${shellQuote(value)}`);
  }
  if (nodes > 1) {
    lines.push(
      "# Several nodes: torchrun on each (started by kielo with srun) meets at a c10d rendezvous on the first.",
      'export KIELO_NNODES="$SLURM_JOB_NUM_NODES"',
      `export KIELO_RDZV_ENDPOINT="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1):${options.rdzv_port}"`,
      'export KIELO_RDZV_ID="$SLURM_JOB_ID"',
    );
  }
  lines.push(`exec ${job.argv.map(shellQuote).join(" ")}`, "");
  return lines.join("\n");
}

/** sbatch's arguments for a step (the script path last), given its dependencies' Slurm job ids. */
export function sbatchArgs(job: StepJob, options: SlurmExecutorOptions, dependencyIds: string[], useGres: boolean): string[] {
  const { nodes, gpusPerNode } = stepShape(job, options);
  const args = ["--parsable", `--job-name=${job.id}`, `--output=${job.logPath}`, "--open-mode=append", `--chdir=${job.cwd}`];
  if (options.partition) args.push(`--partition=${options.partition}`);
  if (options.account) args.push(`--account=${options.account}`);
  if (options.qos) args.push(`--qos=${options.qos}`);
  if (options.time) args.push(`--time=${options.time}`);
  if (options.cpus_per_task) args.push(`--cpus-per-task=${options.cpus_per_task}`);
  if (options.mem) args.push(`--mem=${options.mem}`);
  if (nodes > 1) args.push(`--nodes=${nodes}`, "--ntasks-per-node=1");
  if (gpusPerNode > 0 && useGres) args.push(`--gres=gpu:${gpusPerNode}`);
  if (dependencyIds.length > 0) {
    // kill-on-invalid-dep: a job whose dependency failed is cancelled, not left pending forever,
    // even where the cluster does not set DependencyParameters=kill_invalid_depend.
    args.push(`--dependency=afterok:${dependencyIds.join(":")}`, "--kill-on-invalid-dep=yes");
  }
  args.push(...options.sbatch_args, scriptPath(job, options));
  return args;
}
