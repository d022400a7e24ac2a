/** SQL of the `generations` table: model outputs of a run, keyed by run and prompt key. */
import type { Store } from "./db.ts";

export interface GenerationRow {
  key: string;
  prompt: string;
  response: string;
  /** Anything else worth keeping (finish reason …), stored as JSON. */
  meta?: Record<string, unknown>;
}

/** Insert (or replace) the generations of a run; call inside a transaction for many rows. */
export function insertGenerations(db: Store, runId: number, rows: Iterable<GenerationRow>): void {
  const insert = db.prepare("INSERT OR REPLACE INTO generations (run_id, prompt_key, prompt, response, meta_json) VALUES (?, ?, ?, ?, ?)");
  for (const row of rows) insert.run(runId, row.key, row.prompt, row.response, row.meta === undefined ? null : JSON.stringify(row.meta));
}
