/**
 * One text evaluation as a run in kielo.db (kind `eval-text`): the rows in `answer_metrics`,
 * the summary (mean, p10, p90 per metric and scorer) as the run's summary and as `metrics`
 * (`<field>.mean`, `<field>.p10`, `<field>.p90`). Used by `kielo eval text` and `kielo generate --metrics`.
 */
import { insertAnswerMetrics, type AnswerMetricsRow } from "../../store/answer-metrics.ts";
import { transaction, type Store } from "../../store/db.ts";
import { finishRun, recordMetric, startRun } from "../../store/runs.ts";
import { summariseAnswers, type TextEvalSummary } from "./summary.ts";

export const TEXT_EVAL_RUN_KIND = "eval-text";

export function storeTextEval(db: Store, rows: readonly AnswerMetricsRow[], label: string | undefined, config: unknown): { runId: number; summary: TextEvalSummary } {
  const summary = summariseAnswers(rows);
  const runId = transaction(db, () => {
    const id = startRun(db, TEXT_EVAL_RUN_KIND, { label, config });
    for (const [field, s] of [...Object.entries(summary.metrics), ...Object.entries(summary.scores)]) {
      if (s.n === 0) continue;
      recordMetric(db, id, `${field}.mean`, s.mean);
      recordMetric(db, id, `${field}.p10`, s.p10);
      recordMetric(db, id, `${field}.p90`, s.p90);
    }
    return id;
  });
  insertAnswerMetrics(db, runId, rows);
  finishRun(db, runId, "done", summary);
  return { runId, summary };
}

/** The summary as a table for the terminal. */
export function formatSummary(summary: TextEvalSummary): string {
  const lines = [`${summary.answers} answers`, `${"metric".padEnd(30)} ${"n".padStart(5)} ${"mean".padStart(10)} ${"p10".padStart(10)} ${"p90".padStart(10)}`];
  const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(3)).padStart(10);
  for (const [field, s] of Object.entries(summary.metrics)) lines.push(`${field.padEnd(30)} ${String(s.n).padStart(5)} ${fmt(s.mean)} ${fmt(s.p10)} ${fmt(s.p90)}`);
  for (const [name, s] of Object.entries(summary.scores)) {
    const labels = Object.entries(s.labels).map(([label, n]) => `${label} ${n}`).join(", ");
    lines.push(`${`score:${name}`.padEnd(30)} ${String(s.n).padStart(5)} ${fmt(s.mean)} ${fmt(s.p10)} ${fmt(s.p90)}${labels ? `  (${labels})` : ""}`);
  }
  lines.push(`answer languages: ${Object.entries(summary.answer_langs).sort((a, b) => b[1] - a[1]).map(([lang, n]) => `${lang} ${n}`).join(", ")}`);
  return `${lines.join("\n")}\n`;
}
