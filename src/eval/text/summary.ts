/**
 * Per-run summary of answer metrics: for every numeric field, the count of answers that have it,
 * the mean and the 10th and 90th percentiles (linear interpolation between order statistics, as
 * numpy's default `percentile`); for every scorer, the same over its scores plus label counts.
 */
import type { AnswerMetricsRow } from "../../store/answer-metrics.ts";

export interface FieldSummary {
  n: number;
  mean: number;
  p10: number;
  p90: number;
}

export interface TextEvalSummary {
  answers: number;
  metrics: Record<string, FieldSummary>;
  scores: Record<string, FieldSummary & { labels: Record<string, number> }>;
  answer_langs: Record<string, number>;
}

/** numpy.percentile(values, q) with the default linear method; values need not be sorted. */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = (q / 100) * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

export function summarise(values: readonly number[]): FieldSummary | undefined {
  if (values.length === 0) return undefined;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { n: values.length, mean, p10: percentile(values, 10), p90: percentile(values, 90) };
}

export function summariseAnswers(rows: readonly AnswerMetricsRow[]): TextEvalSummary {
  const numbers = new Map<string, number[]>();
  const scoreNumbers = new Map<string, number[]>();
  const labels = new Map<string, Record<string, number>>();
  const langs: Record<string, number> = {};
  for (const row of rows) {
    for (const [field, value] of Object.entries(row.metrics)) {
      if (typeof value === "number" && Number.isFinite(value)) (numbers.get(field) ?? numbers.set(field, []).get(field)!).push(value);
    }
    for (const [name, score] of Object.entries(row.scores)) {
      const list = scoreNumbers.get(name) ?? scoreNumbers.set(name, []).get(name)!;
      if (typeof score.score === "number") list.push(score.score);
      const counts = labels.get(name) ?? labels.set(name, {}).get(name)!;
      if (score.label !== null) counts[score.label] = (counts[score.label] ?? 0) + 1;
    }
    const lang = row.answer_lang ?? "unknown";
    langs[lang] = (langs[lang] ?? 0) + 1;
  }
  const metrics: TextEvalSummary["metrics"] = {};
  for (const [field, values] of numbers) {
    const summary = summarise(values);
    if (summary) metrics[field] = summary;
  }
  const scores: TextEvalSummary["scores"] = {};
  for (const [name, values] of scoreNumbers) {
    scores[name] = { ...(summarise(values) ?? { n: 0, mean: NaN, p10: NaN, p90: NaN }), labels: labels.get(name) ?? {} };
  }
  return { answers: rows.length, metrics, scores, answer_langs: langs };
}
