/**
 * CSV files with a header row, streamed record by record through csv-parse.
 *
 * Every value is a string (CSV has no types); adapters convert numbers where they need them.
 * Quoted fields may span lines. Row numbers count the header as row 1, as a spreadsheet does.
 */
import { parse } from "csv-parse";
import { InputError } from "../../util/errors.ts";
import type { SourceRow } from "./source-row.ts";
import { openTextStream, streamError } from "./text-stream.ts";

export interface CsvOptions {
  /** Field delimiter; default `,` (`.tsv` files get a tab). */
  delimiter?: string;
}

export async function* readCsv(path: string, options: CsvOptions = {}): AsyncGenerator<SourceRow> {
  const input = await openTextStream(path);
  const parser = input.pipe(
    parse({
      columns: true,
      bom: true,
      delimiter: options.delimiter ?? ",",
      skip_empty_lines: true,
      relax_column_count: false,
    }),
  );
  input.on("error", (error) => parser.destroy(error));
  let row = 1;
  try {
    for await (const record of parser as AsyncIterable<Record<string, string>>) {
      row += 1;
      yield { row, value: record };
    }
  } catch (error) {
    const csvError = error as { code?: string; message: string; records?: number };
    if (typeof csvError.code === "string" && csvError.code.startsWith("CSV_")) {
      // csv-parse counts data records; the failing one is the next after those already read.
      throw new InputError({ file: path, line: row + 1 }, `malformed CSV: ${csvError.message}`);
    }
    throw streamError(path, error);
  } finally {
    parser.destroy();
    input.destroy();
  }
}
