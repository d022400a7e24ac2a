/**
 * What a study hands to an executor, and what it hears back. The study decides every step
 * (its command, folder, environment, GPUs and dependencies); an executor only runs them — side by
 * side on this machine (`local`) or as Slurm jobs (`slurm`) — and reports each step's state.
 */

/** One step of a study, ready to run: a whole command line, no shell. */
export interface StepJob {
  /** Stable id within the study, e.g. `train/sft-mix25-masked` (letters, digits, `-_./`). */
  id: string;
  /** The command: argv[0] is an absolute path to an executable (usually this Node). */
  argv: string[];
  cwd: string;
  /** Added to the executor's own environment. */
  env: Record<string, string>;
  /** GPUs the step needs (0 for CPU-only steps); >1 runs under torchrun inside the step. */
  gpus: number;
  /** Where the step's stdout and stderr go (created by the executor, appended on a re-run). */
  logPath: string;
  /** Ids of jobs in the same submission that must finish successfully first. */
  dependsOn: string[];
}

export type StepState = "waiting" | "running" | "done" | "failed" | "cancelled";

export interface StepUpdate {
  id: string;
  state: StepState;
  /** Exit code of a finished step, when known. */
  exitCode?: number;
  /** The executor's own id for the step (a pid, a Slurm job id). */
  externalId?: string;
  /** Why a step failed or was cancelled, in words (e.g. "dependency train/x failed"). */
  reason?: string;
}

export interface Executor {
  readonly name: "local" | "slurm";
  /**
   * Runs `jobs` respecting `dependsOn`; a failed step cancels only the steps that depend on it.
   * Resolves when every job is done, failed or cancelled; `signal` aborts (running steps are
   * stopped, the rest cancelled). Calls `onUpdate` on every state change.
   */
  run(jobs: readonly StepJob[], onUpdate: (update: StepUpdate) => void, signal: AbortSignal): Promise<Map<string, StepUpdate>>;
}
