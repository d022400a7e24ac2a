/**
 * The Slurm executor's settings: the `executor:` block of a study file (`executor: {kind: slurm, …}`).
 * The study schema embeds `SlurmExecutorSchema`; keys are snake_case like the rest of a study file.
 */
import { z } from "zod";

/** Slurm's time formats: `minutes`, `minutes:seconds`, `hours:minutes:seconds`, `days-hours[:minutes[:seconds]]`. */
const TIME = /^(\d+-\d+(:\d+){0,2}|\d+(:\d+){0,2}|UNLIMITED|INFINITE)$/;

/** sbatch options the executor sets itself from the step; a study must not override them. */
const RESERVED = ["--output", "-o", "--error", "-e", "--job-name", "-J", "--dependency", "-d", "--chdir", "-D", "--parsable", "--open-mode"];

const name = (what: string) => z.string().min(1, `${what} is empty`).regex(/^[^\s]+$/, `${what} has spaces`);

export const SlurmExecutorSchema = z
  .object({
    kind: z.literal("slurm"),
    /** sbatch --partition; the cluster's default partition when absent. */
    partition: name("partition").optional(),
    /** sbatch --account (the allocation to charge). */
    account: name("account").optional(),
    /** sbatch --qos. */
    qos: name("qos").optional(),
    /** sbatch --time: each step's time limit, in Slurm's format (e.g. `2:00:00`, `1-12:00:00`). */
    time: z
      .string()
      .regex(TIME, "time is not a Slurm time limit (expected minutes, h:mm:ss or days-hh:mm:ss, e.g. 2:00:00)")
      .optional(),
    /**
     * When to ask for GPUs with `--gres=gpu:N` (only for steps that need GPUs): `auto` when the
     * partition has GPU gres (sinfo), `always`, or `never` (clusters that allocate GPUs otherwise,
     * e.g. whole nodes; use sbatch_args).
     */
    gres: z.enum(["auto", "always", "never"]).default("auto"),
    /**
     * GPUs on one node. A step that needs more runs on several nodes (gpus / gpus_per_node of them,
     * one task each) under torchrun with a c10d rendezvous on the first node.
     */
    gpus_per_node: z.int().min(1).optional(),
    /** sbatch --cpus-per-task. */
    cpus_per_task: z.int().min(1).optional(),
    /** sbatch --mem (per node), e.g. `64G`. */
    mem: z
      .string()
      .regex(/^\d+[KMGT]?$/, "mem is not a Slurm memory size (e.g. 64G, 500M)")
      .optional(),
    /** The rendezvous port on a multi-node step's first node. */
    rdzv_port: z.int().min(1024).max(65535).default(29500),
    /** More sbatch options, one per item, e.g. `["--constraint=a100", "--signal=B:TERM@120"]`. */
    sbatch_args: z
      .array(z.string().min(1))
      .default([])
      .refine((args) => !args.some((arg) => RESERVED.includes(arg.split("=")[0]!)), {
        message: `sbatch_args may not set ${RESERVED.filter((o) => o.startsWith("--")).join(", ")}: the executor sets them from each step`,
      }),
    /** Seconds between two looks at the queue (one squeue call for all jobs). */
    poll_seconds: z.number().positive().max(600).default(10),
  })
  .strict();

export type SlurmExecutorOptions = z.infer<typeof SlurmExecutorSchema>;

/** Validated options from a plain object (e.g. tests, or a study file's block parsed elsewhere). */
export function slurmExecutorOptions(input: Partial<z.input<typeof SlurmExecutorSchema>> = {}): SlurmExecutorOptions {
  return SlurmExecutorSchema.parse({ kind: "slurm", ...input });
}
