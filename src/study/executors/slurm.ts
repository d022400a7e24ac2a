/**
 * The Slurm executor: every study step becomes one `sbatch` job; Slurm orders them.
 *
 * All steps are submitted at once, in dependency order, each with `--dependency=afterok:<ids of
 * the steps it needs>`, so the queue holds the whole grid and Slurm starts each step as soon as its
 * inputs exist — kielo need not stay connected for that. kielo then watches the jobs with one
 * squeue call per poll until each has finished. A failed step cancels exactly the steps that depend
 * on it (afterok can no longer be met: Slurm cancels them); other branches go on. Aborting (Ctrl-C
 * in `kielo study run`) scancels every job of the submission that has not finished. If kielo itself
 * was cut off instead, the jobs go on in Slurm; the next run finds the unfinished ones in the queue
 * (same step name and batch script) and follows them rather than submitting them again.
 */
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { writeFileAtomic } from "../../util/atomic.ts";
import { KieloError } from "../../util/errors.ts";
import type { Executor, StepJob, StepState, StepUpdate } from "../executor.ts";
import type { SlurmExecutorOptions } from "./slurm-options.ts";
import { batchScript, sbatchArgs, scriptPath, shellQuote, stepShape } from "./slurm-script.ts";
import { failureReason, readSlurmJobs, slurmCommand, stepStateOf, unfinishedJobs, type SlurmJobStatus } from "./slurm-status.ts";

export { SlurmExecutorSchema, slurmExecutorOptions, type SlurmExecutorOptions } from "./slurm-options.ts";
export { readSlurmJobs, type SlurmJobStatus } from "./slurm-status.ts";

const FINAL = new Set<StepState>(["done", "failed", "cancelled"]);
/** Consecutive failed polls (controller unreachable) tolerated before giving up: 30 minutes at most. */
const MAX_POLL_FAILURES_MS = 30 * 60_000;

/** Jobs in an order where every job comes after those it depends on; errors name the step. */
export function dependencyOrder(jobs: readonly StepJob[]): StepJob[] {
  const byId = new Map<string, StepJob>();
  for (const job of jobs) {
    if (byId.has(job.id)) throw new KieloError(`two steps have the id ${job.id}`);
    byId.set(job.id, job);
  }
  const order: StepJob[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (job: StepJob, path: string[]) => {
    if (state.get(job.id) === "done") return;
    if (state.get(job.id) === "visiting") throw new KieloError(`steps depend on each other in a cycle: ${[...path, job.id].join(" → ")}`);
    state.set(job.id, "visiting");
    for (const dep of job.dependsOn) {
      const needed = byId.get(dep);
      if (!needed) throw new KieloError(`step ${job.id} depends on ${dep}, which is not in the submission`);
      visit(needed, [...path, job.id]);
    }
    state.set(job.id, "done");
    order.push(job);
  };
  for (const job of jobs) visit(job, []);
  return order;
}

/** Whether the cluster (the partition, when one is named) has GPUs as generic resources. */
async function clusterHasGpus(partition: string | undefined): Promise<boolean> {
  const result = await slurmCommand("sinfo", ["--noheader", "--format=%G", ...(partition ? [`--partition=${partition}`] : [])]);
  return result.code === 0 && /\bgpu\b/.test(result.stdout);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

export class SlurmExecutor implements Executor {
  readonly name = "slurm" as const;
  readonly options: SlurmExecutorOptions;

  constructor(options: SlurmExecutorOptions) {
    this.options = options;
  }

  async run(jobs: readonly StepJob[], onUpdate: (update: StepUpdate) => void, signal: AbortSignal): Promise<Map<string, StepUpdate>> {
    const order = dependencyOrder(jobs);
    for (const job of order) stepShape(job, this.options); // shape errors before anything is submitted
    const results = new Map<string, StepUpdate>();
    const set = (update: StepUpdate) => {
      const previous = results.get(update.id);
      if (previous && previous.state === update.state && previous.reason === update.reason) return;
      results.set(update.id, update);
      onUpdate(update);
    };
    const slurmIds = new Map<string, string>();
    const useGres = this.options.gres === "always" || (this.options.gres === "auto" && order.some((j) => j.gpus > 0) && (await clusterHasGpus(this.options.partition)));

    // A step still queued or running from an earlier run that was cut off: the same job name and
    // batch script (the step's folder). Adopted, not submitted twice.
    const leftover = new Map((await unfinishedJobs()).map((queued) => [`${queued.name}\0${queued.command}`, queued]));

    for (const job of order) {
      const adopted = leftover.get(`${job.id}\0${scriptPath(job, this.options)}`);
      if (adopted && !signal.aborted) {
        slurmIds.set(job.id, adopted.jobId);
        set({ id: job.id, state: stepStateOf(adopted.slurmState), externalId: adopted.jobId });
        continue;
      }
      if (signal.aborted) {
        set({ id: job.id, state: "cancelled", reason: "aborted before submission" });
        continue;
      }
      const blocked = job.dependsOn.find((dep) => !slurmIds.has(dep));
      if (blocked) {
        set({ id: job.id, state: "cancelled", reason: `dependency ${blocked} was not submitted` });
        continue;
      }
      const dependencyIds = job.dependsOn.map((dep) => slurmIds.get(dep)!);
      const args = sbatchArgs(job, this.options, dependencyIds, useGres);
      await mkdir(dirname(job.logPath), { recursive: true });
      await writeFileAtomic(scriptPath(job, this.options), batchScript(job, this.options, ["sbatch", ...args].map(shellQuote).join(" ")));
      const submitted = await slurmCommand("sbatch", args);
      // --parsable prints "<id>" or "<id>;<cluster>".
      const jobId = /^(\d+)/.exec(submitted.stdout.trim())?.[1];
      if (submitted.code !== 0 || !jobId) {
        set({ id: job.id, state: "failed", reason: `sbatch refused the step: ${submitted.stderr.trim() || submitted.stdout.trim()}` });
        continue;
      }
      slurmIds.set(job.id, jobId);
      set({ id: job.id, state: "waiting", externalId: jobId });
    }

    await this.watch(order, slurmIds, set, results, signal);
    return results;
  }

  /** Polls the queue until every submitted job has finished; on abort, scancels the rest. */
  private async watch(
    order: StepJob[],
    slurmIds: Map<string, string>,
    set: (update: StepUpdate) => void,
    results: Map<string, StepUpdate>,
    signal: AbortSignal,
  ): Promise<void> {
    const active = () => order.filter((job) => slurmIds.has(job.id) && !FINAL.has(results.get(job.id)?.state ?? "waiting"));
    let cancelledAt: number | undefined;
    let failingSince: number | undefined;
    while (active().length > 0) {
      if (signal.aborted && cancelledAt === undefined) {
        cancelledAt = Date.now();
        await slurmCommand("scancel", active().map((job) => slurmIds.get(job.id)!));
      }
      const jobs = active();
      let statuses: Map<string, SlurmJobStatus>;
      try {
        statuses = await readSlurmJobs(jobs.map((job) => slurmIds.get(job.id)!));
        failingSince = undefined;
      } catch (error) {
        // A busy or restarting controller: look again later, for a while.
        failingSince ??= Date.now();
        if (!(error instanceof KieloError) || Date.now() - failingSince > MAX_POLL_FAILURES_MS || signal.aborted) throw error;
        await sleep(this.options.poll_seconds * 1000, signal);
        continue;
      }
      // Dependency order: a dependency's failure is recorded before its dependents' cancellation.
      for (const job of jobs) this.record(job, slurmIds.get(job.id)!, statuses.get(slurmIds.get(job.id)!)!, set, results, cancelledAt !== undefined);
      // A cluster that keeps such jobs pending (an sbatch without --kill-on-invalid-dep): cancel them here.
      const pendingForever = jobs.filter((job) => {
        const status = statuses.get(slurmIds.get(job.id)!)!;
        return status.state === "waiting" && status.reason === "DependencyNeverSatisfied";
      });
      if (pendingForever.length > 0) await slurmCommand("scancel", pendingForever.map((job) => slurmIds.get(job.id)!));
      if (active().length === 0) break;
      // After scancel, jobs turn CANCELLED at once; some grace for those already finishing.
      if (cancelledAt !== undefined && Date.now() - cancelledAt > 60_000) {
        for (const job of active()) set({ id: job.id, state: "cancelled", externalId: slurmIds.get(job.id)!, reason: "aborted (scancel sent; Slurm had not confirmed within a minute)" });
        break;
      }
      await sleep(cancelledAt !== undefined ? 500 : this.options.poll_seconds * 1000, signal);
    }
  }

  private record(job: StepJob, jobId: string, status: SlurmJobStatus, set: (update: StepUpdate) => void, results: Map<string, StepUpdate>, aborted: boolean): void {
    const base = { id: job.id, externalId: jobId };
    if (status.state === undefined) {
      set({ ...base, state: "failed", reason: `Slurm no longer knows job ${jobId} and has no accounting to say how it ended` });
      return;
    }
    const exit = status.exitCode !== undefined ? { exitCode: status.exitCode } : {};
    // Pending for a dependency that can no longer succeed, or cancelled for it.
    if (status.reason === "DependencyNeverSatisfied" && (status.state === "waiting" || status.state === "cancelled")) {
      const cause = job.dependsOn.find((dep) => ["failed", "cancelled"].includes(results.get(dep)?.state ?? ""));
      const why = cause ? `dependency ${cause} ${results.get(cause)!.state === "failed" ? "failed" : "was cancelled"}` : "a dependency did not succeed";
      set({ ...base, state: "cancelled", reason: why });
      return;
    }
    switch (status.state) {
      case "waiting":
      case "running":
        set({ ...base, state: status.state });
        return;
      case "done":
        set({ ...base, state: "done", ...exit });
        return;
      case "failed":
        set({ ...base, state: "failed", ...exit, reason: failureReason(status) });
        return;
      case "cancelled":
        set({ ...base, state: "cancelled", ...exit, reason: aborted ? "aborted" : `Slurm job ${jobId} was cancelled (scancel)` });
        return;
    }
  }
}
