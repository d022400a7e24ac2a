/**
 * Parquet files, read one row group at a time so that memory holds one group, not the file.
 *
 * hyparquet decodes the pages; hyparquet-compressors adds the codecs hyparquet lacks on its own
 * (ZSTD, GZIP, Brotli, LZ4; Snappy is built in). Values are made JSON-safe with hyparquet's
 * `toJson` (int64 → number, binary → byte array, dates → ISO strings).
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, toJson } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { isUtf8 } from "node:buffer";
import { KieloError } from "../../util/errors.ts";
import { isPlainObject, type SourceRow } from "./source-row.ts";
import { invalidUtf8InValue } from "./utf8.ts";

/** A string value whose bytes are not UTF-8, kept as bytes until its row and field are known. */
class InvalidText {
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
}

const decoder = new TextDecoder();
const parsers = {
  stringFromBytes(bytes: Uint8Array | undefined): string | InvalidText | undefined {
    if (bytes === undefined || bytes === null) return bytes;
    return isUtf8(bytes) ? decoder.decode(bytes) : new InvalidText(bytes);
  },
};

/** The path of the first InvalidText inside a row's value, with it. */
function findInvalid(value: unknown, path: string): { path: string; bytes: Uint8Array } | undefined {
  if (value instanceof InvalidText) return { path, bytes: value.bytes };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findInvalid(value[i], `${path}[${i}]`);
      if (found) return found;
    }
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      const found = findInvalid(item, path === "" ? key : `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

export async function* readParquet(path: string): AsyncGenerator<SourceRow> {
  let file: Awaited<ReturnType<typeof asyncBufferFromFile>>;
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    file = await asyncBufferFromFile(path);
    metadata = await parquetMetadataAsync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KieloError(`cannot read ${path}: ${code ?? `not a valid Parquet file (${(error as Error).message})`}`);
  }
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file, metadata, rowStart, rowEnd, compressors, parsers });
    } catch (error) {
      throw new KieloError(`${path}: cannot decode rows ${rowStart + 1}–${rowEnd}: ${(error as Error).message}`);
    }
    for (let i = 0; i < rows.length; i++) {
      const invalid = findInvalid(rows[i], "");
      if (invalid !== undefined) throw invalidUtf8InValue(path, rowStart + i + 1, invalid.path, invalid.bytes);
      const value: unknown = toJson(rows[i]);
      yield { row: rowStart + i + 1, value: isPlainObject(value) ? value : { value } };
    }
    rowStart = rowEnd;
  }
}
