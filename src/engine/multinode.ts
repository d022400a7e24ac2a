/**
 * The engine on several nodes of one Slurm job.
 *
 * On one machine kielo starts `torchrun --standalone` itself. A step that spans nodes (the Slurm
 * executor's multi-node steps, or a batch script written by hand) sets KIELO_NNODES,
 * KIELO_RDZV_ENDPOINT (`<first node>:<port>`) and KIELO_RDZV_ID (usually $SLURM_JOB_ID) in the
 * environment of the kielo process that runs on the job's first node; kielo then starts torchrun
 * once per node with `srun` and lets the nodes meet at a c10d rendezvous on the first node. Only
 * this kielo process writes kielo.db and follows the engine's events (rank 0's, through srun).
 */
import { KieloError } from "../util/errors.ts";

export interface MultiNode {
  nodes: number;
  endpoint: string;
  id: string;
}

/** The multi-node setting from the environment, or undefined when the engine runs on one machine. */
export function multiNodeFromEnv(env: NodeJS.ProcessEnv = process.env): MultiNode | undefined {
  const nodes = env["KIELO_NNODES"];
  if (nodes === undefined || nodes === "") return undefined;
  if (!/^[1-9]\d*$/.test(nodes)) throw new KieloError(`KIELO_NNODES is ${JSON.stringify(nodes)}; expected a number of nodes (e.g. $SLURM_JOB_NUM_NODES)`);
  const endpoint = env["KIELO_RDZV_ENDPOINT"] ?? "";
  if (!/^[^\s:]+:\d+$/.test(endpoint)) {
    throw new KieloError(`KIELO_NNODES is set but KIELO_RDZV_ENDPOINT is ${JSON.stringify(endpoint)}; expected <first node>:<port>`, {
      hint: 'in a Slurm batch script: KIELO_RDZV_ENDPOINT="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1):29500"',
    });
  }
  return { nodes: Number(nodes), endpoint, id: env["KIELO_RDZV_ID"] || "kielo" };
}

/** `srun` starting one torchrun per node, `gpus / nodes` engine processes each. */
export function multiNodeCommand(python: string, args: string[], gpus: number, multi: MultiNode): string[] {
  if (gpus % multi.nodes !== 0) {
    throw new KieloError(`--gpus ${gpus} cannot be split evenly over ${multi.nodes} nodes (KIELO_NNODES)`, {
      hint: `use a multiple of ${multi.nodes} GPUs`,
    });
  }
  return [
    "srun",
    `--nodes=${multi.nodes}`,
    `--ntasks=${multi.nodes}`,
    "--ntasks-per-node=1",
    // One node's failure ends the others instead of leaving them waiting at a collective.
    "--kill-on-bad-exit=1",
    python,
    "-m",
    "torch.distributed.run",
    `--nnodes=${multi.nodes}`,
    `--nproc-per-node=${gpus / multi.nodes}`,
    "--rdzv-backend=c10d",
    `--rdzv-endpoint=${multi.endpoint}`,
    `--rdzv-id=${multi.id}`,
    "-m",
    "kielo_engine",
    ...args,
  ];
}

export function srunNotFound(): KieloError {
  return new KieloError("srun not found: KIELO_NNODES is set, which starts the engine on several nodes with Slurm's srun", {
    hint: "run inside a Slurm job (the slurm executor sets KIELO_NNODES for steps on several nodes), or unset KIELO_NNODES",
  });
}
