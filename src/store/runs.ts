/** Recording runs and their metrics in the workspace store. */
import type { Store } from "./db.ts";

export type RunStatus = "running" | "done" | "failed" | "interrupted";

export function startRun(db: Store, kind: string, options: { label?: string; config?: unknown } = {}): number {
  const result = db
    .prepare("INSERT INTO runs (kind, label, config_json) VALUES (?, ?, ?)")
    .run(kind, options.label ?? null, JSON.stringify(options.config ?? {}));
  return Number(result.lastInsertRowid);
}

export function finishRun(db: Store, runId: number, status: RunStatus, summary?: unknown): void {
  db.prepare(
    "UPDATE runs SET status = ?, summary_json = ?, ended_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?",
  ).run(status, summary === undefined ? null : JSON.stringify(summary), runId);
}

export function recordMetric(db: Store, runId: number, name: string, value: number, step?: number): void {
  db.prepare("INSERT INTO metrics (run_id, name, step, value) VALUES (?, ?, ?, ?)").run(
    runId,
    name,
    step ?? null,
    value,
  );
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
}

export function listRuns(db: Store, kind?: string): RunRow[] {
  const rows =
    kind === undefined
      ? db.prepare("SELECT * FROM runs ORDER BY id").all()
      : db.prepare("SELECT * FROM runs WHERE kind = ? ORDER BY id").all(kind);
  return rows as unknown as RunRow[];
}
