/** The `answer_metrics` table: one row per scored answer (`kielo eval text`). */
import { transaction, type Store } from "./db.ts";

export interface AnswerMetricsRow {
  answer_key: string;
  model: string | null;
  source_run_id: number | null;
  prompt: string;
  answer: string;
  readability_lang: string;
  answer_lang: string | null;
  metrics: Record<string, number | null>;
  scores: Record<string, { label: string | null; score: number | null }>;
  versions: Record<string, unknown>;
}

export function insertAnswerMetrics(db: Store, runId: number, rows: readonly AnswerMetricsRow[]): void {
  const insert = db.prepare(
    `INSERT OR REPLACE INTO answer_metrics
       (run_id, answer_key, model, source_run_id, prompt, answer, readability_lang, answer_lang, metrics_json, scores_json, versions_json)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  transaction(db, () => {
    for (const row of rows) {
      insert.run(
        runId,
        row.answer_key,
        row.model,
        row.source_run_id,
        row.prompt,
        row.answer,
        row.readability_lang,
        row.answer_lang,
        JSON.stringify(row.metrics),
        JSON.stringify(row.scores),
        JSON.stringify(row.versions),
      );
    }
  });
}

export function readAnswerMetrics(db: Store, runId: number): AnswerMetricsRow[] {
  const rows = db.prepare("SELECT * FROM answer_metrics WHERE run_id = ? ORDER BY rowid").all(runId) as Record<string, unknown>[];
  return rows.map((row) => ({
    answer_key: String(row["answer_key"]),
    model: (row["model"] as string | null) ?? null,
    source_run_id: (row["source_run_id"] as number | null) ?? null,
    prompt: String(row["prompt"]),
    answer: String(row["answer"]),
    readability_lang: String(row["readability_lang"]),
    answer_lang: (row["answer_lang"] as string | null) ?? null,
    metrics: JSON.parse(String(row["metrics_json"])) as AnswerMetricsRow["metrics"],
    scores: JSON.parse(String(row["scores_json"])) as AnswerMetricsRow["scores"],
    versions: JSON.parse(String(row["versions_json"])) as AnswerMetricsRow["versions"],
  }));
}
