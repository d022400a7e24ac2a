/** The queries a study makes of kielo.db: the run a step recorded, its summary and metric series. */
import type { Store } from "./db.ts";
import type { RunRow } from "./runs.ts";

export function maxRunId(db: Store): number {
  const row = db.prepare("SELECT COALESCE(MAX(id), 0) AS id FROM runs").get() as { id: number };
  return row.id;
}

/**
 * The run a step's command just finished under this label: the one that ended last. Not simply a
 * run started after `after`: a resumed training continues its interrupted run's row, started earlier.
 */
export function latestRunSince(db: Store, after: number, label: string): number | null {
  const row = db.prepare("SELECT id FROM runs WHERE label = ? AND status = 'done' ORDER BY ended_at DESC, id > ? DESC, id DESC LIMIT 1").get(label, after) as { id: number } | undefined;
  return row?.id ?? null;
}

export function runById(db: Store, id: number): RunRow | undefined {
  return db.prepare("SELECT * FROM runs WHERE id = ?").get(id) as RunRow | undefined;
}

export function runSummary(db: Store, id: number): Record<string, unknown> | undefined {
  const run = runById(db, id);
  if (run?.summary_json == null) return undefined;
  return JSON.parse(run.summary_json) as Record<string, unknown>;
}

/** A metric of a run by step, e.g. the training loss curve. */
export function metricSeries(db: Store, runId: number, name: string): { step: number; value: number }[] {
  return db.prepare("SELECT step, value FROM metrics WHERE run_id = ? AND name = ? AND step IS NOT NULL ORDER BY step, rowid").all(runId, name) as { step: number; value: number }[];
}
