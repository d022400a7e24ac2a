/**
 * Reading runs back: the SQL behind `kielo runs` and `kielo serve` (both read-only). Writing runs
 * is src/store/runs.ts.
 */
import type { Store } from "./db.ts";
import type { RunRow } from "./runs.ts";

export interface RunFilter {
  kind?: string;
  /** Substring of the label (case-insensitive). */
  label?: string;
  /** ISO time: runs started at or after it. */
  since?: string;
}

/** Runs matching the filter, newest first. */
export function queryRuns(db: Store, filter: RunFilter = {}): RunRow[] {
  const where: string[] = [];
  const params: string[] = [];
  if (filter.kind !== undefined) {
    where.push("kind = ?");
    params.push(filter.kind);
  }
  if (filter.label !== undefined) {
    where.push("instr(lower(coalesce(label, '')), lower(?)) > 0");
    params.push(filter.label);
  }
  if (filter.since !== undefined) {
    where.push("started_at >= ?");
    params.push(filter.since);
  }
  const sql = `SELECT * FROM runs ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC`;
  return db.prepare(sql).all(...params) as unknown as RunRow[];
}

export function getRun(db: Store, id: number): RunRow | undefined {
  return db.prepare("SELECT * FROM runs WHERE id = ?").get(id) as unknown as RunRow | undefined;
}

export interface MetricSummary {
  name: string;
  /** Values recorded. */
  n: number;
  /** The value at the highest step (or the last recorded, for metrics without steps). */
  last: number;
  min: number;
  max: number;
  last_step: number | null;
}

export function metricSummaries(db: Store, runId: number): MetricSummary[] {
  return db
    .prepare(
      `SELECT name, COUNT(*) AS n, MIN(value) AS min, MAX(value) AS max, MAX(step) AS last_step,
         (SELECT value FROM metrics m2 WHERE m2.run_id = m.run_id AND m2.name = m.name
          ORDER BY m2.step DESC, m2.rowid DESC LIMIT 1) AS last
       FROM metrics m WHERE run_id = ? GROUP BY name ORDER BY name`,
    )
    .all(runId) as unknown as MetricSummary[];
}

export interface MetricPoint {
  step: number | null;
  value: number;
}

export function metricSeries(db: Store, runId: number, name: string): MetricPoint[] {
  return db.prepare("SELECT step, value FROM metrics WHERE run_id = ? AND name = ? ORDER BY step, rowid").all(runId, name) as unknown as MetricPoint[];
}

/** How many rows of each per-item table a run has. */
export function itemCounts(db: Store, runId: number): { generations: number; eval_results: number; answer_metrics: number } {
  const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE run_id = ?`).get(runId) as { n: number }).n;
  return { generations: count("generations"), eval_results: count("eval_results"), answer_metrics: count("answer_metrics") };
}

export interface AnswerRow {
  key: string;
  prompt: string;
  answer: string;
  /** The detected language of the answer, when an evaluation recorded it. */
  language: string | null;
  /** Text metrics, or the IFEval verdict, as recorded. */
  metrics: Record<string, unknown>;
}

/**
 * A run's answers, filtered by a search text in prompt or answer: its generations (with their
 * IFEval verdicts) or, for a text evaluation, its scored answers.
 */
export function answers(db: Store, runId: number, options: { search?: string; limit: number; offset: number }): { total: number; rows: AnswerRow[] } {
  const search = options.search ?? "";
  const fromGenerations = (db.prepare("SELECT COUNT(*) AS n FROM generations WHERE run_id = ?").get(runId) as { n: number }).n > 0;
  const match = (prompt: string, answer: string) => `(instr(lower(${prompt}), lower(?)) > 0 OR instr(lower(${answer}), lower(?)) > 0)`;
  if (fromGenerations) {
    const where = `g.run_id = ? AND ${match("g.prompt", "g.response")}`;
    const total = (db.prepare(`SELECT COUNT(*) AS n FROM generations g WHERE ${where}`).get(runId, search, search) as { n: number }).n;
    // The verdicts of an IFEval run, or the text metrics `kielo generate --metrics` computed for
    // a generation run's answers (the latest such evaluation).
    const rows = db
      .prepare(
        `SELECT g.prompt_key AS key, g.prompt, g.response AS answer, g.meta_json, e.result_json,
           (SELECT am.answer_lang FROM answer_metrics am WHERE am.source_run_id = g.run_id AND am.answer_key = g.prompt_key ORDER BY am.run_id DESC LIMIT 1) AS answer_lang,
           (SELECT am.metrics_json FROM answer_metrics am WHERE am.source_run_id = g.run_id AND am.answer_key = g.prompt_key ORDER BY am.run_id DESC LIMIT 1) AS metrics_json
         FROM generations g LEFT JOIN eval_results e ON e.run_id = g.run_id AND e.item_key = g.prompt_key
         WHERE ${where} ORDER BY g.rowid LIMIT ? OFFSET ?`,
      )
      .all(runId, search, search, options.limit, options.offset) as {
      key: string;
      prompt: string;
      answer: string;
      meta_json: string | null;
      result_json: string | null;
      answer_lang: string | null;
      metrics_json: string | null;
    }[];
    const object = (json: string | null) => (json === null ? {} : (JSON.parse(json) as Record<string, unknown>));
    return {
      total,
      rows: rows.map((row) => {
        const verdict = object(row.result_json);
        const language = (verdict["response_language"] as { langdetect?: string } | undefined)?.langdetect ?? row.answer_lang;
        return { key: row.key, prompt: row.prompt, answer: row.answer, language, metrics: { ...object(row.meta_json), ...verdict, ...object(row.metrics_json) } };
      }),
    };
  }
  const where = `run_id = ? AND ${match("prompt", "answer")}`;
  const total = (db.prepare(`SELECT COUNT(*) AS n FROM answer_metrics WHERE ${where}`).get(runId, search, search) as { n: number }).n;
  const rows = db
    .prepare(`SELECT answer_key AS key, prompt, answer, answer_lang, metrics_json FROM answer_metrics WHERE ${where} ORDER BY rowid LIMIT ? OFFSET ?`)
    .all(runId, search, search, options.limit, options.offset) as { key: string; prompt: string; answer: string; answer_lang: string | null; metrics_json: string }[];
  return {
    total,
    rows: rows.map((row) => ({ key: row.key, prompt: row.prompt, answer: row.answer, language: row.answer_lang, metrics: JSON.parse(row.metrics_json) as Record<string, unknown> })),
  };
}

/** Two runs' answers to the same prompts (matched by prompt key), filtered by a search text in the prompt. */
export function pairedAnswers(db: Store, a: number, b: number, options: { search?: string; limit: number }): { key: string; prompt: string; a: string; b: string }[] {
  return db
    .prepare(
      `SELECT ga.prompt_key AS key, ga.prompt, ga.response AS a, gb.response AS b
       FROM generations ga JOIN generations gb ON gb.prompt_key = ga.prompt_key AND gb.run_id = ?
       WHERE ga.run_id = ? AND instr(lower(ga.prompt), lower(?)) > 0 ORDER BY ga.rowid LIMIT ?`,
    )
    .all(b, a, options.search ?? "", options.limit) as { key: string; prompt: string; a: string; b: string }[];
}

/** The settings and summary of every finished run of one kind (`kielo study plan` reads their tokens/s). */
export function finishedRunSettings(db: Store, kind: string): { config_json: string; summary_json: string | null }[] {
  return db.prepare("SELECT config_json, summary_json FROM runs WHERE kind = ? AND status = 'done'").all(kind) as { config_json: string; summary_json: string | null }[];
}
