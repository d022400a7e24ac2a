/**
 * Recording runs and their metrics in the workspace store.
 *
 * A run remembers the process that records it (pid, host) and refreshes a heartbeat while that
 * process lives, so that a reader can tell a run that is still going from one whose process was
 * killed (src/runs/status.ts shows it as `died`). A run the process leaves unfinished when it exits
 * is closed on the way out: `interrupted` after Ctrl-C or SIGTERM (exit 130/143), else `failed`.
 */
import { hostname } from "node:os";
import type { Store } from "./db.ts";

export type RunStatus = "running" | "done" | "failed" | "interrupted";

/** How often a live run refreshes `heartbeat_at`; readers allow several missed beats. */
export const HEARTBEAT_SECONDS = 20;

const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')";

export interface StartRunOptions {
  label?: string;
  config?: unknown;
  /** A training's job folder; with `resume`, a run of the same kind and folder is continued. */
  jobDir?: string;
  resume?: boolean;
}

/** Runs this process started and has not finished: closed by the exit handler below. */
const open = new Map<number, { db: Store; timer: NodeJS.Timeout }>();

export function startRun(db: Store, kind: string, options: StartRunOptions = {}): number {
  return startOrResumeRun(db, kind, options).id;
}

/** Start a run, or continue the latest run of the same kind and job folder when `resume` is set. */
export function startOrResumeRun(
  db: Store,
  kind: string,
  options: StartRunOptions = {},
): { id: number; resumed: boolean; previous?: { status: RunStatus; summary_json: string | null } } {
  const config = JSON.stringify(options.config ?? {});
  const label = options.label ?? null;
  const previous =
    options.resume && options.jobDir !== undefined
      ? (db.prepare("SELECT id, status, summary_json FROM runs WHERE kind = ? AND job_dir = ? ORDER BY id DESC LIMIT 1").get(kind, options.jobDir) as
          | { id: number; status: RunStatus; summary_json: string | null }
          | undefined)
      : undefined;
  let id: number;
  if (previous !== undefined) {
    id = previous.id;
    db.prepare(
      `UPDATE runs SET status = 'running', label = ?, config_json = ?, pid = ?, host = ?, heartbeat_at = ${NOW}, ended_at = NULL WHERE id = ?`,
    ).run(label, config, process.pid, hostname(), id);
  } else {
    const result = db
      .prepare(`INSERT INTO runs (kind, label, config_json, pid, host, heartbeat_at, job_dir) VALUES (?, ?, ?, ?, ?, ${NOW}, ?)`)
      .run(kind, label, config, process.pid, hostname(), options.jobDir ?? null);
    id = Number(result.lastInsertRowid);
  }
  track(db, id);
  if (previous === undefined) return { id, resumed: false };
  return { id, resumed: true, previous: { status: previous.status, summary_json: previous.summary_json } };
}

function track(db: Store, runId: number): void {
  const beat = db.prepare(`UPDATE runs SET heartbeat_at = ${NOW} WHERE id = ? AND status = 'running'`);
  const timer = setInterval(() => {
    try {
      beat.run(runId);
    } catch {
      // The store was closed under a run its command did not finish; the exit handler decides.
      clearInterval(timer);
    }
  }, HEARTBEAT_SECONDS * 1000);
  timer.unref();
  if (open.size === 0) process.on("exit", closeOpenRuns);
  open.set(runId, { db, timer });
}

function untrack(runId: number): void {
  const entry = open.get(runId);
  if (entry === undefined) return;
  clearInterval(entry.timer);
  open.delete(runId);
  if (open.size === 0) process.off("exit", closeOpenRuns);
}

/** The process is exiting with runs still open: Ctrl-C/SIGTERM interrupted them, anything else failed them. */
function closeOpenRuns(code: number): void {
  const status: RunStatus = code === 130 || code === 143 ? "interrupted" : "failed";
  for (const [runId, { db }] of [...open]) {
    try {
      // node:sqlite is synchronous, so this completes inside the exit handler.
      db.prepare(`UPDATE runs SET status = ?, ended_at = ${NOW} WHERE id = ? AND status = 'running'`).run(status, runId);
    } catch {
      // Already closed: nothing more can be written.
    }
    untrack(runId);
  }
}

/**
 * The status of a run its command ended with this error: `interrupted` when it was Ctrl-C or
 * SIGTERM (a KieloError with exit status 130/143, e.g. from an engine stopped by the signal), else `failed`.
 */
export function statusOfError(error: unknown): RunStatus {
  const code = (error as { exitCode?: unknown } | null)?.exitCode;
  return code === 130 || code === 143 ? "interrupted" : "failed";
}

export function finishRun(db: Store, runId: number, status: RunStatus, summary?: unknown): void {
  db.prepare(`UPDATE runs SET status = ?, summary_json = ?, ended_at = ${NOW} WHERE id = ?`).run(
    status,
    summary === undefined ? null : JSON.stringify(summary),
    runId,
  );
  untrack(runId);
}

export function recordMetric(db: Store, runId: number, name: string, value: number, step?: number): void {
  db.prepare("INSERT INTO metrics (run_id, name, step, value) VALUES (?, ?, ?, ?)").run(
    runId,
    name,
    step ?? null,
    value,
  );
}

/**
 * A resumed training repeats the steps after its last checkpoint: drop what the interrupted
 * attempt recorded for them, so each step has one value.
 */
export function deleteMetricsAfter(db: Store, runId: number, step: number): void {
  db.prepare("DELETE FROM metrics WHERE run_id = ? AND step > ?").run(runId, step);
}

export interface RunRow {
  id: number;
  kind: string;
  label: string | null;
  status: RunStatus;
  config_json: string;
  summary_json: string | null;
  started_at: string;
  ended_at: string | null;
  pid: number | null;
  host: string | null;
  heartbeat_at: string | null;
  job_dir: string | null;
}

export function listRuns(db: Store, kind?: string): RunRow[] {
  const rows =
    kind === undefined
      ? db.prepare("SELECT * FROM runs ORDER BY id").all()
      : db.prepare("SELECT * FROM runs WHERE kind = ? ORDER BY id").all(kind);
  return rows as unknown as RunRow[];
}
