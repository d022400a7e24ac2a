/**
 * Exporting answer metrics as a flat table, one row per answer: identity columns, every metric,
 * and `<scorer>_label` / `<scorer>_score` per scorer. `.csv` (csv-stringify), `.parquet`
 * (hyparquet-writer; numbers as DOUBLE, text as UTF-8 strings, missing values as nulls) or
 * `.jsonl`, chosen by the file extension; written atomically.
 */
import { stringify } from "csv-stringify/sync";
import { parquetWriteBuffer } from "hyparquet-writer";
import type { AnswerMetricsRow } from "../../store/answer-metrics.ts";
import { writeFileAtomic } from "../../util/atomic.ts";
import { KieloError } from "../../util/errors.ts";

type Cell = string | number | null;

export function flattenRows(rows: readonly AnswerMetricsRow[]): { columns: string[]; numeric: Set<string>; records: Record<string, Cell>[] } {
  const metricColumns = new Set<string>();
  const scorerNames = new Set<string>();
  for (const row of rows) {
    for (const field of Object.keys(row.metrics)) metricColumns.add(field);
    for (const name of Object.keys(row.scores)) scorerNames.add(name);
  }
  const identity = ["answer_key", "model", "source_run_id", "readability_lang", "answer_lang", "prompt", "answer"];
  const scoreColumns = [...scorerNames].flatMap((name) => [`${name}_label`, `${name}_score`]);
  const numeric = new Set<string>(["source_run_id", ...metricColumns, ...[...scorerNames].map((name) => `${name}_score`)]);
  const records = rows.map((row) => {
    const record: Record<string, Cell> = {
      answer_key: row.answer_key,
      model: row.model,
      source_run_id: row.source_run_id,
      readability_lang: row.readability_lang,
      answer_lang: row.answer_lang,
      prompt: row.prompt,
      answer: row.answer,
    };
    for (const field of metricColumns) record[field] = row.metrics[field] ?? null;
    for (const name of scorerNames) {
      record[`${name}_label`] = row.scores[name]?.label ?? null;
      record[`${name}_score`] = row.scores[name]?.score ?? null;
    }
    return record;
  });
  return { columns: [...identity, ...metricColumns, ...scoreColumns], numeric, records };
}

export async function exportAnswerMetrics(path: string, rows: readonly AnswerMetricsRow[]): Promise<void> {
  const { columns, numeric, records } = flattenRows(rows);
  if (path.endsWith(".csv")) {
    await writeFileAtomic(path, stringify(records, { header: true, columns, cast: { number: (value) => String(value) } }));
  } else if (path.endsWith(".parquet")) {
    const buffer = parquetWriteBuffer({
      columnData: columns.map((name) => ({
        name,
        data: records.map((record) => record[name] ?? null),
        type: numeric.has(name) ? "DOUBLE" : "STRING",
        nullable: true,
      })),
    });
    await writeFileAtomic(path, new Uint8Array(buffer));
  } else if (path.endsWith(".jsonl")) {
    await writeFileAtomic(path, records.map((record) => `${JSON.stringify(record)}\n`).join(""));
  } else {
    throw new KieloError(`cannot tell the export format of ${path}`, { hint: "name the file .csv, .parquet or .jsonl" });
  }
}
