/**
 * `readRows(path)`: every supported input format as one stream of `{row, value}` objects.
 *
 * The format comes from the extension (`.jsonl`/`.ndjson`, `.json`, `.csv`/`.tsv`, `.parquet`,
 * each text format optionally `.gz`) unless given explicitly.
 */
import { extname } from "node:path";
import { InputError, KieloError } from "../../util/errors.ts";
import { readJsonl } from "../jsonl.ts";
import { readCsv } from "./csv.ts";
import { readJsonArray } from "./json-array.ts";
import { readParquet } from "./parquet.ts";
import { describeType, INPUT_FORMATS, isPlainObject, type InputFormat, type SourceRow } from "./source-row.ts";

export { INPUT_FORMATS, type InputFormat, type SourceRow } from "./source-row.ts";

export interface ReadRowsOptions {
  /** Overrides the format implied by the file name. */
  format?: InputFormat;
}

const EXTENSIONS: Record<string, InputFormat> = {
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  ".json": "json",
  ".csv": "csv",
  ".tsv": "csv",
  ".parquet": "parquet",
};

/** The input format implied by a file name, or undefined if the extension is not known. */
export function formatFromPath(path: string): InputFormat | undefined {
  const lower = path.toLowerCase();
  const withoutGz = lower.endsWith(".gz") ? lower.slice(0, -3) : lower;
  return EXTENSIONS[extname(withoutGz)];
}

export async function* readRows(path: string, options: ReadRowsOptions = {}): AsyncGenerator<SourceRow> {
  const format = options.format ?? formatFromPath(path);
  if (format === undefined) {
    throw new KieloError(`cannot tell the format of ${path} from its extension`, {
      hint: `Name it .jsonl, .json, .csv, .tsv or .parquet (optionally .gz), or pass the input format (${INPUT_FORMATS.join(", ")}).`,
    });
  }
  switch (format) {
    case "jsonl":
      for await (const { line, value } of readJsonl(path)) {
        if (!isPlainObject(value)) {
          throw new InputError({ file: path, line }, `expected a JSON object, found ${describeType(value)}`);
        }
        yield { row: line, value };
      }
      return;
    case "json":
      yield* readJsonArray(path);
      return;
    case "csv": {
      const isTsv = path.toLowerCase().replace(/\.gz$/, "").endsWith(".tsv");
      yield* readCsv(path, isTsv ? { delimiter: "\t" } : {});
      return;
    }
    case "parquet":
      yield* readParquet(path);
      return;
  }
}
