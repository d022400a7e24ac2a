/**
 * `convert`: one source file → canonical records JSONL, streamed and written atomically.
 *
 * Reads rows with `readRows`, turns them into records with the chosen format adapter, checks each
 * record against the canonical schema and that ids are unique, and writes them under a temporary
 * name that is renamed into place only when everything succeeded.
 */
import { existsSync } from "node:fs";
import { openAtomicFile } from "../util/atomic.ts";
import { KieloError } from "../util/errors.ts";
import { Progress } from "../util/progress.ts";
import { getAdapter, Tally, type AdapterOptions } from "./adapters/index.ts";
import { readRows, type InputFormat, type SourceRow } from "./readers/index.ts";
import { RecordSchema } from "./records.ts";

export interface ConvertOptions extends Omit<AdapterOptions, "file"> {
  input: string;
  out: string;
  /** The adapter (`oasst`, `dolly`, …). */
  format: string;
  /** Overrides the reader chosen by the input's extension. */
  inputFormat?: InputFormat;
  /** Stop after this many output records. */
  limit?: number;
  /** Replace an existing output file. */
  force?: boolean;
  quiet?: boolean;
}

export interface ConvertSummary {
  input: string;
  output: string;
  format: string;
  rows_in: number;
  records_out: number;
  conversations: number;
  preferences: number;
  /** Rows (or trees, prompts) dropped, by reason. */
  dropped: Record<string, number>;
  /** Things done that drop nothing (e.g. a trailing user turn trimmed), by kind. */
  notes: Record<string, number>;
  limited: boolean;
  seconds: number;
}

export async function convertFile(options: ConvertOptions): Promise<ConvertSummary> {
  const adapter = getAdapter(options.format);
  if (options.pairs && !adapter.supportsPairs) {
    throw new KieloError(`--pairs: the ${adapter.name} format has no preference information`, {
      hint: "Formats with pairs: oasst (ranked replies), hh-rlhf, helpsteer, pairs.",
    });
  }
  for (const field of Object.keys(options.columns ?? {})) {
    if (!adapter.fields.includes(field)) {
      throw new KieloError(`--column ${field}=…: the ${adapter.name} format has no field "${field}"`, {
        hint: adapter.fields.length ? `Its fields: ${adapter.fields.join(", ")}.` : "It reads fixed field names.",
      });
    }
  }
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 1)) {
    throw new KieloError(`--limit must be a positive integer, got ${options.limit}`);
  }
  if (!options.force && existsSync(options.out)) {
    throw new KieloError(`${options.out} already exists`, { hint: "Pass --force to replace it." });
  }

  const start = performance.now();
  const tally = new Tally();
  const progress = new Progress(`convert ${options.format}`, { unit: "rows", quiet: options.quiet ?? false });
  let rowsIn = 0;
  async function* counted(): AsyncGenerator<SourceRow> {
    for await (const row of readRows(options.input, options.inputFormat ? { format: options.inputFormat } : {})) {
      rowsIn++;
      progress.tick();
      yield row;
    }
  }

  const out = await openAtomicFile(options.out);
  const ids = new Set<string>();
  let conversations = 0;
  let preferences = 0;
  let limited = false;
  try {
    const context = {
      file: options.input,
      tally,
      ...(options.lang === undefined ? {} : { lang: options.lang }),
      ...(options.pairs === undefined ? {} : { pairs: options.pairs }),
      ...(options.columns === undefined ? {} : { columns: options.columns }),
      ...(options.idPrefix === undefined ? {} : { idPrefix: options.idPrefix }),
    };
    for await (const record of adapter.convert(counted(), context)) {
      const checked = RecordSchema.safeParse(record);
      if (!checked.success) throw new Error(`${adapter.name} adapter produced an invalid record ${record.id}: ${checked.error.message}`);
      if (ids.has(record.id)) {
        throw new KieloError(`${options.input}: two records have the id "${record.id}" (the second from ${JSON.stringify(record.meta["source"])})`, {
          hint: "Ids must be unique within a file: fix the source ids or use --id-prefix when combining files.",
        });
      }
      ids.add(record.id);
      await out.write(`${JSON.stringify(record)}\n`);
      if (record.kind === "conversation") conversations++;
      else preferences++;
      if (options.limit !== undefined && ids.size >= options.limit) {
        limited = true;
        break;
      }
    }
    if (rowsIn === 0) {
      throw new KieloError(`${options.input} holds no rows`, { hint: "Check that it is the file you meant (an empty file, or a JSON array with no elements)." });
    }
    if (conversations + preferences === 0) {
      const reasons = Object.entries(Tally.toObject(tally.dropped)).map(([reason, n]) => `${reason} ${n}`);
      const notes = Object.entries(Tally.toObject(tally.notes)).map(([note, n]) => `${note} ${n}`);
      throw new KieloError(
        `${options.input}: no records from ${rowsIn} rows (dropped: ${reasons.length > 0 ? reasons.join(", ") : "none"}${notes.length > 0 ? `; notes: ${notes.join(", ")}` : ""}); nothing written`,
        { hint: `Check that --format ${adapter.name} is the layout of this file (kielo data convert --help lists the formats and their rules).` },
      );
    }
    await out.commit();
  } catch (error) {
    await out.abort();
    throw error;
  }
  progress.done();
  return {
    input: options.input,
    output: options.out,
    format: adapter.name,
    rows_in: rowsIn,
    records_out: conversations + preferences,
    conversations,
    preferences,
    dropped: Tally.toObject(tally.dropped),
    notes: Tally.toObject(tally.notes),
    limited,
    seconds: (performance.now() - start) / 1000,
  };
}

/** The summary as the few lines `data convert` prints. */
export function formatConvertSummary(summary: ConvertSummary): string {
  const lines = [
    `${summary.input} → ${summary.output} (${summary.format})`,
    `rows in: ${summary.rows_in}${summary.limited ? " (stopped at --limit)" : ""}`,
    `records out: ${summary.records_out} (${summary.conversations} conversations, ${summary.preferences} preference pairs)`,
  ];
  const dropped = Object.entries(summary.dropped);
  lines.push(`dropped: ${dropped.length === 0 ? "none" : dropped.map(([reason, n]) => `${reason} ${n}`).join(", ")}`);
  const notes = Object.entries(summary.notes);
  if (notes.length > 0) lines.push(`notes: ${notes.map(([reason, n]) => `${reason} ${n}`).join(", ")}`);
  return `${lines.join("\n")}\n`;
}
