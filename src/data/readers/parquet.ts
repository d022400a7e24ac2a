/**
 * Parquet files, read one row group at a time so that memory holds one group, not the file.
 *
 * hyparquet decodes the pages; hyparquet-compressors adds the codecs hyparquet lacks on its own
 * (ZSTD, GZIP, Brotli, LZ4; Snappy is built in). Values are made JSON-safe with hyparquet's
 * `toJson` (int64 → number, binary → byte array, dates → ISO strings).
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, toJson } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { KieloError } from "../../util/errors.ts";
import { isPlainObject, type SourceRow } from "./source-row.ts";

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
      rows = await parquetReadObjects({ file, metadata, rowStart, rowEnd, compressors });
    } catch (error) {
      throw new KieloError(`${path}: cannot decode rows ${rowStart + 1}–${rowEnd}: ${(error as Error).message}`);
    }
    for (let i = 0; i < rows.length; i++) {
      const value: unknown = toJson(rows[i]);
      yield { row: rowStart + i + 1, value: isPlainObject(value) ? value : { value } };
    }
    rowStart = rowEnd;
  }
}
