/**
 * CSV files with a header row, streamed record by record through csv-parse.
 *
 * Every value is a string (CSV has no types); adapters convert numbers where they need them.
 * Quoted fields may span lines. Row numbers count the header as row 1, as a spreadsheet does.
 * Cells arrive as bytes and are checked as UTF-8 one by one, so that a bad byte is reported with its
 * row and column instead of being replaced by U+FFFD.
 */
import { isUtf8 } from "node:buffer";
import { parse } from "csv-parse";
import { InputError } from "../../util/errors.ts";
import type { SourceRow } from "./source-row.ts";
import { openTextStream, streamError } from "./text-stream.ts";
import { invalidUtf8InValue } from "./utf8.ts";

export interface CsvOptions {
  /** Field delimiter; default `,` (`.tsv` files get a tab). */
  delimiter?: string;
}

export async function* readCsv(path: string, options: CsvOptions = {}): AsyncGenerator<SourceRow> {
  const input = await openTextStream(path);
  const parser = input.pipe(
    parse({
      // Buffers, not strings: see above.
      encoding: null as unknown as undefined,
      bom: true,
      delimiter: options.delimiter ?? ",",
      skip_empty_lines: true,
      relax_column_count: false,
    }),
  );
  input.on("error", (error) => parser.destroy(error));
  let row = 0;
  let header: string[] | undefined;
  try {
    for await (const cells of parser as AsyncIterable<Buffer[]>) {
      row += 1;
      if (header === undefined) {
        header = cells.map((cell, i) => {
          if (!isUtf8(cell)) throw invalidUtf8InValue(path, row, `column ${i + 1}`, cell, "column name");
          return cell.toString("utf8");
        });
        continue;
      }
      const value: Record<string, string> = {};
      cells.forEach((cell, i) => {
        const name = header![i]!;
        if (!isUtf8(cell)) throw invalidUtf8InValue(path, row, name, cell);
        value[name] = cell.toString("utf8");
      });
      yield { row, value };
    }
  } catch (error) {
    const csvError = error as { code?: string; message: string; records?: number };
    if (typeof csvError.code === "string" && csvError.code.startsWith("CSV_")) {
      // csv-parse counts the records it completed (the header included) before the failing one;
      // records it parsed may not have reached this loop yet, so `row` can lag behind.
      const failing = typeof csvError.records === "number" ? csvError.records + 1 : row + 1;
      throw new InputError({ file: path, line: failing }, `malformed CSV: ${csvError.message}`);
    }
    throw streamError(path, error);
  } finally {
    parser.destroy();
    input.destroy();
  }
}
