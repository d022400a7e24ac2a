/**
 * Reading Slurm jobs' states: for the Slurm executor's polling and for `kielo study status`.
 *
 * One `squeue --states=all --jobs=…` call covers every job the controller still remembers
 * (pending, running, and finished ones for MinJobAge, 5 minutes by default); finished jobs' exit
 * codes come from `scontrol -o show job`. Jobs the controller has forgotten are looked up with
 * `sacct` (accounting); on a cluster without accounting their state is unknown.
 */
import { execFile } from "node:child_process";
import { userInfo } from "node:os";
import { KieloError } from "../../util/errors.ts";
import type { StepState } from "../executor.ts";

export interface SlurmJobStatus {
  jobId: string;
  /** Slurm's own state word, e.g. PENDING, RUNNING, COMPLETED, OUT_OF_MEMORY; UNKNOWN when forgotten. */
  slurmState: string;
  /** The state as a study step sees it; undefined when Slurm no longer knows the job. */
  state: StepState | undefined;
  /** Slurm's reason (a pending job's wait reason, a finished job's cause), when it gives one. */
  reason?: string;
  exitCode?: number;
  /** The signal that ended the job, when one did. */
  signal?: number;
  name?: string;
  /** Where the answer came from. */
  source: "squeue" | "sacct" | "none";
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a Slurm command (asynchronously: the study's progress display keeps moving). */
export async function slurmCommand(command: string, args: string[]): Promise<CommandResult> {
  return await new Promise((resolve, reject) => {
    execFile(command, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === "ENOENT") {
        reject(
          new KieloError(`${command} not found: the slurm executor needs Slurm's commands (sbatch, squeue, scontrol, scancel) on PATH`, {
            hint: "run the study on a Slurm login node, or use `executor: local`",
          }),
        );
        return;
      }
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const WAITING = new Set(["PENDING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESV_DEL_HOLD", "SPECIAL_EXIT"]);
const RUNNING = new Set(["RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "RESIZING"]);
const FAILED: Record<string, string> = {
  FAILED: "failed",
  TIMEOUT: "reached its time limit (TIMEOUT)",
  OUT_OF_MEMORY: "ran out of memory (OUT_OF_MEMORY)",
  NODE_FAIL: "lost its node (NODE_FAIL)",
  BOOT_FAIL: "its node failed to boot (BOOT_FAIL)",
  DEADLINE: "missed its deadline (DEADLINE)",
  PREEMPTED: "was preempted (PREEMPTED)",
};

/** A Slurm job state as a step state. States this kielo does not know count as waiting. */
export function stepStateOf(slurmState: string): StepState {
  // sacct writes e.g. "CANCELLED by 0"; squeue may add "+" to a state with flags.
  const word = slurmState.split(/[\s+]/)[0]!.toUpperCase();
  if (word === "COMPLETED") return "done";
  if (word === "CANCELLED" || word === "REVOKED") return "cancelled";
  if (word in FAILED) return "failed";
  if (RUNNING.has(word)) return "running";
  if (WAITING.has(word)) return "waiting";
  return "waiting";
}

/** Words for a failed job: its state's meaning and its exit code or signal. */
export function failureReason(status: SlurmJobStatus): string {
  const word = status.slurmState.split(/[\s+]/)[0]!.toUpperCase();
  const parts = [`Slurm job ${status.jobId} ${FAILED[word] ?? word.toLowerCase()}`];
  if (status.signal) parts.push(`killed by signal ${status.signal}`);
  else if (status.exitCode !== undefined && status.exitCode !== 0) parts.push(`exit code ${status.exitCode}`);
  if (status.reason && !["None", "NonZeroExitCode"].includes(status.reason)) parts.push(`(${status.reason})`);
  return parts.join(", ");
}

/** `3:0` (code:signal) as numbers. */
function parseExitCode(text: string | undefined): { exitCode?: number; signal?: number } {
  const match = /^(\d+):(\d+)$/.exec(text ?? "");
  if (!match) return {};
  return { exitCode: Number(match[1]), signal: Number(match[2]) || undefined };
}

/** `key=value` fields of one `scontrol -o` line (values may not contain spaces, which is enough here). */
function scontrolFields(line: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const token of line.trim().split(/\s+/)) {
    const eq = token.indexOf("=");
    if (eq > 0) fields[token.slice(0, eq)] ??= token.slice(eq + 1);
  }
  return fields;
}

/** Throws a KieloError with Slurm's own words when a command failed for another reason than unknown ids. */
function commandFailed(command: string, result: CommandResult): never {
  throw new KieloError(`${command} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim() || "no output"}`, {
    hint: "is the Slurm controller reachable from here? (`scontrol ping`)",
  });
}

const CHUNK = 200;

async function fromSqueue(ids: string[], into: Map<string, SlurmJobStatus>): Promise<void> {
  for (let i = 0; i < ids.length; i += CHUNK) {
    const chunk = ids.slice(i, i + CHUNK);
    const result = await slurmCommand("squeue", ["--noheader", "--states=all", `--jobs=${chunk.join(",")}`, "--format=%i|%T|%r|%j"]);
    // Every id in the call unknown to the controller: squeue fails with "Invalid job id specified".
    if (result.code !== 0) {
      if (/invalid job id/i.test(result.stderr)) continue;
      commandFailed("squeue", result);
    }
    for (const line of result.stdout.split("\n")) {
      const [jobId, slurmState, reason, ...name] = line.trim().split("|");
      if (!jobId || !slurmState || !chunk.includes(jobId)) continue;
      into.set(jobId, { jobId, slurmState, state: stepStateOf(slurmState), reason: reason || undefined, name: name.join("|") || undefined, source: "squeue" });
    }
  }
}

/** A finished job's exit code (squeue does not print it). */
async function addExitCode(status: SlurmJobStatus): Promise<void> {
  const result = await slurmCommand("scontrol", ["-o", "show", "job", status.jobId]);
  if (result.code !== 0) return;
  const fields = scontrolFields(result.stdout);
  Object.assign(status, parseExitCode(fields["ExitCode"]));
  if (fields["Reason"] && fields["Reason"] !== "None") status.reason = fields["Reason"];
}

async function fromSacct(ids: string[], into: Map<string, SlurmJobStatus>): Promise<void> {
  for (let i = 0; i < ids.length; i += CHUNK) {
    const chunk = ids.slice(i, i + CHUNK);
    // Without --starttime, sacct looks only at jobs since midnight.
    const result = await slurmCommand("sacct", ["--noheader", "--parsable2", "--allocations", "--starttime=2000-01-01", `--jobs=${chunk.join(",")}`, "--format=JobIDRaw,State,ExitCode,JobName"]);
    // No accounting on this cluster (or no sacct): the jobs stay unknown.
    if (result.code !== 0) return;
    for (const line of result.stdout.split("\n")) {
      const [jobId, slurmState, exitCode, ...name] = line.trim().split("|");
      if (!jobId || !slurmState || !chunk.includes(jobId)) continue;
      into.set(jobId, { jobId, slurmState: slurmState.split(" ")[0]!, state: stepStateOf(slurmState), ...parseExitCode(exitCode), name: name.join("|") || undefined, source: "sacct" });
    }
  }
}

/**
 * The states of Slurm jobs by id (for `kielo study status` and the executor's polling). Finished
 * jobs come with exit codes; `exitCodes: false` skips the per-job scontrol call for them.
 */
export async function readSlurmJobs(jobIds: readonly string[], options: { exitCodes?: boolean } = {}): Promise<Map<string, SlurmJobStatus>> {
  const ids = [...new Set(jobIds)].filter((id) => /^\d+(_\d+)?$/.test(id));
  const found = new Map<string, SlurmJobStatus>();
  if (ids.length === 0) return found;
  await fromSqueue(ids, found);
  if (options.exitCodes !== false) {
    for (const status of found.values()) {
      if (status.state === "done" || status.state === "failed" || status.state === "cancelled") await addExitCode(status);
    }
  }
  const forgotten = ids.filter((id) => !found.has(id));
  if (forgotten.length > 0) await fromSacct(forgotten, found);
  const out = new Map<string, SlurmJobStatus>();
  for (const id of jobIds) out.set(id, found.get(id) ?? { jobId: id, slurmState: "UNKNOWN", state: undefined, source: "none" });
  return out;
}

export interface QueuedJob {
  jobId: string;
  name: string;
  /** The batch script's path. */
  command: string;
  slurmState: string;
}

/**
 * This user's jobs that have not finished (pending, running, completing): a study run that was
 * cut off (kielo killed, the login session gone) left them in the queue, and a new run adopts them
 * instead of submitting its steps twice.
 */
export async function unfinishedJobs(): Promise<QueuedJob[]> {
  const result = await slurmCommand("squeue", ["--noheader", `--user=${userInfo().username}`, "--states=PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED,REQUEUED", "--format=%i|%T|%o|%j"]);
  if (result.code !== 0) commandFailed("squeue", result);
  const jobs: QueuedJob[] = [];
  for (const line of result.stdout.split("\n")) {
    const [jobId, slurmState, command, ...name] = line.trim().split("|");
    if (jobId && slurmState && command) jobs.push({ jobId, slurmState, command, name: name.join("|") });
  }
  return jobs;
}
