/** SQL of the `eval_results` table: per-item evaluation verdicts of a run, as JSON. */
import type { Store } from "./db.ts";

export function insertEvalResults(db: Store, runId: number, rows: Iterable<{ key: string; result: unknown }>): void {
  const insert = db.prepare("INSERT INTO eval_results (run_id, item_key, result_json) VALUES (?, ?, ?)");
  for (const row of rows) insert.run(runId, row.key, JSON.stringify(row.result));
}
