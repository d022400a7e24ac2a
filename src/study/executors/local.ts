/**
 * The local executor: runs a study's steps side by side on this machine. A step that needs GPUs
 * waits until that many are free and gets them through CUDA_VISIBLE_DEVICES; CPU-only steps run
 * at most `cpuParallel` at a time, with CUDA_VISIBLE_DEVICES empty so that they leave the GPUs
 * alone. A failed step cancels only the steps that depend on it.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, openSync, closeSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname } from "node:path";
import type { Executor, StepJob, StepUpdate } from "../executor.ts";

export interface LocalOptions {
  /** GPU ids this executor may hand out, as CUDA_VISIBLE_DEVICES names them. */
  gpus: string[];
  cpuParallel: number;
}

export class LocalExecutor implements Executor {
  readonly name = "local" as const;
  readonly options: LocalOptions;

  constructor(options: LocalOptions) {
    this.options = options;
  }

  run(jobs: readonly StepJob[], onUpdate: (update: StepUpdate) => void, signal: AbortSignal): Promise<Map<string, StepUpdate>> {
    const results = new Map<string, StepUpdate>();
    const pending = new Map(jobs.map((job) => [job.id, job]));
    const running = new Map<string, { child: ChildProcess; gpus: string[] }>();
    const freeGpus = [...this.options.gpus];
    const update = (u: StepUpdate) => {
      if (u.state !== "running" && u.state !== "waiting") results.set(u.id, u);
      onUpdate(u);
    };
    // Every dependency is checked before any step is failed below: failing one removes it from `pending`.
    for (const job of jobs) {
      const unknown = job.dependsOn.find((dep) => !pending.has(dep));
      if (unknown !== undefined) throw new Error(`step ${job.id} depends on ${unknown}, which is not in this submission`);
    }
    for (const job of jobs) {
      if (job.gpus > this.options.gpus.length) {
        pending.delete(job.id);
        update({ id: job.id, state: "failed", reason: `needs ${job.gpus} GPU(s); this machine offers ${this.options.gpus.length}` });
      } else {
        onUpdate({ id: job.id, state: "waiting" });
      }
    }

    return new Promise((resolve) => {
      const cancelDependents = () => {
        // A step whose dependency failed or was cancelled can never run: cancel it (and its dependents).
        let changed = true;
        while (changed) {
          changed = false;
          for (const job of pending.values()) {
            const bad = job.dependsOn.find((dep) => results.has(dep) && results.get(dep)!.state !== "done");
            if (bad !== undefined) {
              pending.delete(job.id);
              update({ id: job.id, state: "cancelled", reason: `dependency ${bad} ${results.get(bad)!.state}` });
              changed = true;
            }
          }
        }
      };
      const schedule = () => {
        cancelDependents();
        if (signal.aborted) {
          for (const job of pending.values()) update({ id: job.id, state: "cancelled", reason: "the study was stopped" });
          pending.clear();
        }
        for (const job of [...pending.values()]) {
          if (!job.dependsOn.every((dep) => results.get(dep)?.state === "done")) continue;
          const cpuBusy = [...running.values()].filter((r) => r.gpus.length === 0).length;
          if (job.gpus === 0 ? cpuBusy >= this.options.cpuParallel : freeGpus.length < job.gpus) continue;
          pending.delete(job.id);
          start(job, job.gpus === 0 ? [] : freeGpus.splice(0, job.gpus));
        }
        if (pending.size === 0 && running.size === 0) {
          signal.removeEventListener("abort", onAbort);
          resolve(results);
        }
      };
      const start = (job: StepJob, gpus: string[]) => {
        mkdirSync(dirname(job.logPath), { recursive: true });
        const log = openSync(job.logPath, "a");
        const env: NodeJS.ProcessEnv = { ...process.env, ...job.env, CUDA_VISIBLE_DEVICES: gpus.join(",") };
        // CPU steps side by side would each start a thread per core and slow each other down many times over.
        if (gpus.length === 0 && env["OMP_NUM_THREADS"] === undefined) env["OMP_NUM_THREADS"] = String(Math.max(1, Math.floor(availableParallelism() / this.options.cpuParallel)));
        const child = spawn(job.argv[0]!, job.argv.slice(1), { cwd: job.cwd, env, stdio: ["ignore", log, log] });
        closeSync(log);
        running.set(job.id, { child, gpus });
        update({ id: job.id, state: "running", ...(child.pid === undefined ? {} : { externalId: String(child.pid) }) });
        let spawnError: Error | undefined;
        child.once("error", (error) => (spawnError = error));
        child.once("close", (code, sig) => {
          running.delete(job.id);
          freeGpus.push(...gpus);
          freeGpus.sort((a, b) => Number(a) - Number(b));
          if (code === 0) update({ id: job.id, state: "done", exitCode: 0 });
          else if (signal.aborted) update({ id: job.id, state: "cancelled", reason: "the study was stopped", ...(code === null ? {} : { exitCode: code }) });
          else update({ id: job.id, state: "failed", ...(code === null ? {} : { exitCode: code }), reason: spawnError?.message ?? (sig ? `killed by ${sig}` : `exit code ${code}`) });
          schedule();
        });
      };
      const onAbort = () => {
        for (const { child } of running.values()) child.kill("SIGTERM");
        schedule();
      };
      signal.addEventListener("abort", onAbort);
      schedule();
    });
  }
}

/** GPU ids visible to this process: CUDA_VISIBLE_DEVICES, else `nvidia-smi -L`, else none. */
export async function visibleGpus(): Promise<string[]> {
  const env = process.env["CUDA_VISIBLE_DEVICES"];
  if (env !== undefined) return env.split(",").map((id) => id.trim()).filter((id) => id !== "");
  return new Promise((resolve) => {
    execFile("nvidia-smi", ["-L"], (error, stdout) => resolve(error ? [] : stdout.split("\n").filter((l) => l.startsWith("GPU ")).map((_, i) => String(i))));
  });
}
