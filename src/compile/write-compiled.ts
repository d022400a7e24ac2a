/**
 * Writing a compiled-data folder (docs/formats.md §2): raw little-endian arrays + rows.jsonl +
 * manifest.json. Documents are written in pack order when packed, so each pack is contiguous.
 */
import { endianness } from "node:os";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CompiledRecords } from "./compile-records.ts";
import type { Manifest } from "./manifest.ts";

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

export function assertLittleEndian(): void {
  // Typed arrays use the host's byte order; the format is little-endian (every mainstream host is).
  if (endianness() !== "LE") throw new Error("kielo's compiled-data format needs a little-endian host");
}

/** Write the folder's files into `dir` (an empty, temporary folder; the caller renames it into place). */
export async function writeCompiledFiles(dir: string, compiled: CompiledRecords, manifest: Manifest): Promise<void> {
  assertLittleEndian();
  const { store, packing } = compiled;
  const count = store.documentCount;
  const order = packing === null ? null : packing.bins.flat();

  let tokens = store.tokens.subarray(0, store.length);
  let trained = store.trained.subarray(0, store.length);
  const docs = new BigInt64Array(count + 1);
  let rows = "";
  const rowLine = (d: number, length: number, start: number): string => {
    const info = store.info[d]!;
    let trainedCount = 0;
    for (let i = start; i < start + length; i++) trainedCount += store.trained[i]!;
    const row: Record<string, unknown> = { id: info.id, source: info.source };
    if (info.part !== undefined) row["part"] = info.part;
    row["tokens"] = length;
    row["trained"] = trainedCount;
    row["truncated"] = info.truncated;
    return `${JSON.stringify(row)}\n`;
  };

  if (order === null) {
    for (let d = 0; d < count; d++) {
      docs[d + 1] = BigInt(store.offsets[d + 1]!);
      rows += rowLine(d, store.documentLength(d), store.offsets[d]!);
    }
  } else {
    tokens = new Uint32Array(store.length);
    trained = new Uint8Array(store.length);
    let at = 0;
    order.forEach((d, position) => {
      const start = store.offsets[d]!;
      const length = store.documentLength(d);
      tokens.set(store.tokens.subarray(start, start + length), at);
      trained.set(store.trained.subarray(start, start + length), at);
      at += length;
      docs[position + 1] = BigInt(at);
      rows += rowLine(d, length, start);
    });
  }

  await writeFile(join(dir, "tokens.bin"), bytesOf(tokens));
  await writeFile(join(dir, "trained.bin"), bytesOf(trained));
  await writeFile(join(dir, "docs.bin"), bytesOf(docs));
  if (packing !== null) {
    const packs = new BigInt64Array(packing.bins.length + 1);
    packing.bins.forEach((bin, p) => {
      packs[p + 1] = packs[p]! + BigInt(bin.length);
    });
    await writeFile(join(dir, "packs.bin"), bytesOf(packs));
  }
  await writeFile(join(dir, "rows.jsonl"), rows);
  await writeFile(join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
}
