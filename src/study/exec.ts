/**
 * One study step as it runs under an executor: `kielo study exec --dir D --hash H -- <kielo args>`.
 * The wrapper makes a step self-contained, so a Slurm job or a local child process does the same:
 * it clears the step folder when it holds an attempt with another hash, runs the kielo command as a
 * child of this Node, and on success writes `done.json` (hash, kielo.db run id). A folder with the
 * same hash is kept, so a killed training resumes from its checkpoint.
 *
 * When the process that started the step dies (a SIGKILLed `kielo study run`), the step stops too
 * instead of running on unseen: it polls its parent, as the engine does (parent_watch.py).
 */
import { spawn } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { writeFileAtomic } from "../util/atomic.ts";
import { KieloError } from "../util/errors.ts";
import { openStore } from "../store/db.ts";
import { latestRunSince, maxRunId } from "../store/study.ts";
import { processAlive } from "../util/pid.ts";
import { attemptMarkerPath, doneMarkerPath, readAttempt, readDone, type AttemptMarker, type DoneMarker } from "./state.ts";

export interface ExecOptions {
  dir: string;
  hash: string;
  /** The run label the command records in kielo.db. */
  label?: string;
  args: string[];
  /** The kielo entry point (bin/kielo.js). */
  entry: string;
  /** Stop the child when our parent dies (default true; off under Slurm, whose step daemon is the parent). */
  watchParent?: boolean;
}

export async function execStep(options: ExecOptions): Promise<number> {
  const { dir, hash } = options;
  if (readDone(dir)?.hash === hash) return 0;
  await waitForEarlierAttempt(dir);
  const previous = readAttempt(dir);
  if (previous !== undefined && previous.hash !== hash) rmSync(dir, { recursive: true, force: true });
  if (previous === undefined && readDone(dir) !== undefined) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  rmSync(doneMarkerPath(dir), { force: true });
  const attempt: AttemptMarker = { hash, pid: process.pid, started_at: new Date().toISOString() };
  await writeFileAtomic(attemptMarkerPath(dir), `${JSON.stringify(attempt)}\n`);

  const db = openStore();
  const before = maxRunId(db);
  db.close();
  const started = performance.now();
  const child = spawn(process.execPath, [options.entry, ...options.args], { stdio: "inherit", env: process.env });
  let signalled: NodeJS.Signals | null = null;
  const forward = (signal: NodeJS.Signals) => {
    signalled = signal;
    child.kill(signal);
  };
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  const parent = process.ppid;
  const watch = options.watchParent === false ? undefined : setInterval(() => {
    if (process.ppid !== parent) forward("SIGTERM");
  }, 500);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done, fail) => {
    child.once("error", fail);
    child.once("exit", (c, s) => done([c, s]));
  }).finally(() => clearInterval(watch));
  process.off("SIGINT", forward);
  process.off("SIGTERM", forward);
  if (code === 0) {
    const store = openStore();
    const runId = options.label === undefined ? null : latestRunSince(store, before, options.label);
    store.close();
    const done: DoneMarker = { hash, run_id: runId, seconds: (performance.now() - started) / 1000, finished_at: new Date().toISOString() };
    await writeFileAtomic(doneMarkerPath(dir), `${JSON.stringify(done)}\n`);
    return 0;
  }
  attempt.failed = { exit_code: code, signal: signal ?? signalled, at: new Date().toISOString() };
  await writeFileAtomic(attemptMarkerPath(dir), `${JSON.stringify(attempt)}\n`);
  return code ?? 1;
}

/** An attempt of an earlier run still stopping (its parent was killed a moment ago): let it finish. */
async function waitForEarlierAttempt(dir: string): Promise<void> {
  for (let waited = 0; ; waited += 200) {
    const attempt = readAttempt(dir);
    if (attempt === undefined || attempt.failed !== undefined || attempt.pid === process.pid || !processAlive(attempt.pid)) return;
    if (waited > 30_000) {
      throw new KieloError(`${dir} is in use by process ${attempt.pid} (another kielo study run?)`, { hint: "Wait for it to finish, or stop it first." });
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
