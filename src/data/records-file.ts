/**
 * Reading a canonical records JSONL file, each line checked against the record schema, with
 * `file:line (field path)` in every error.
 */
import { InputError, KieloError } from "../util/errors.ts";
import { readJsonl } from "./jsonl.ts";
import { RecordSchema, type KieloRecord } from "./records.ts";

export interface RecordLine {
  /** 1-based line number. */
  line: number;
  /** The file the record was read from (for errors when records come from several files). */
  file?: string;
  /** The record as validated (zod's output: defaults filled in, unknown keys removed). */
  record: KieloRecord;
  /** The line's JSON value exactly as in the file, for writing it back unchanged. */
  raw: Record<string, unknown>;
}

export async function* readRecords(path: string): AsyncGenerator<RecordLine> {
  for await (const { line, value } of readJsonl(path)) {
    const parsed = RecordSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`)).join("");
      throw new InputError(
        field === "" ? { file: path, line } : { file: path, line, field },
        `not a kielo record: ${issue.message}`,
        { hint: "Records are written by `kielo data convert` (docs/formats.md §1)." },
      );
    }
    yield { line, file: path, record: parsed.data as KieloRecord, raw: value as Record<string, unknown> };
  }
}

/**
 * All records of a file, refusing a repeated id (translation and cleaning join records by id) and
 * an empty file (a command with nothing to work on is a mistake, not a success).
 */
export async function readRecordList(path: string): Promise<RecordLine[]> {
  const out: RecordLine[] = [];
  const seen = new Map<string, number>();
  for await (const entry of readRecords(path)) {
    const earlier = seen.get(entry.record.id);
    if (earlier !== undefined) {
      throw new InputError(
        { file: path, line: entry.line, field: "id" },
        `duplicate id ${JSON.stringify(entry.record.id)} (first on line ${earlier})`,
      );
    }
    seen.set(entry.record.id, entry.line);
    out.push(entry);
  }
  if (out.length === 0) throw new KieloError(`${path} holds no records`, { hint: "Check that it is the file you meant (records are written by `kielo data convert`)." });
  return out;
}
