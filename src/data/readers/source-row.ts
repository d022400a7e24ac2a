/** What every reader yields: one source row with its position, for error messages. */
export interface SourceRow {
  /**
   * 1-based position of the row in its file, as a user would find it:
   * JSONL: the line; JSON: the array element (first element = 1);
   * CSV: the record, counting the header as row 1 (so the first data row is 2, as in a spreadsheet);
   * Parquet: the row (first row = 1).
   */
  row: number;
  value: Record<string, unknown>;
}

export const INPUT_FORMATS = ["jsonl", "json", "csv", "parquet"] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
