/**
 * Writing compiled documents to disk as they are made (docs/formats.md §2), so that compiling holds
 * a batch of records in memory, not the dataset: memory stays flat as datasets grow, apart from
 * about 20 bytes per document (offsets and lengths, which packing needs all of).
 *
 * Unpacked, documents go straight into `tokens.bin`, `trained.bin` and `rows.jsonl` in input order.
 * Packed, they go to scratch files in input order first; `finish` then copies them in pack order
 * (each pack contiguous) and removes the scratch files.
 */
import { closeSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { endianness } from "node:os";
import { join } from "node:path";
import type { Packing } from "./pack.ts";

export interface DocumentInfo {
  /** Record id. */
  id: string;
  /** 1-based line of the record in the source JSONL. */
  source: number;
  /** The source file, when a compile reads several. */
  file?: string;
  /** Only for preference data: which reply this document holds. */
  part?: "chosen" | "rejected";
  truncated: boolean;
}

export function assertLittleEndian(): void {
  // Typed arrays use the host's byte order; the format is little-endian (every mainstream host is).
  if (endianness() !== "LE") throw new Error("kielo's compiled-data format needs a little-endian host");
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** An append-only file with a write buffer (synchronous: each flush is one large write). */
class AppendFile {
  private readonly fd: number;
  private readonly buffer = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  written = 0;

  constructor(path: string) {
    this.fd = openSync(path, "w");
  }

  append(bytes: Uint8Array): void {
    if (this.used + bytes.length > this.buffer.length) this.flush();
    if (bytes.length > this.buffer.length) {
      writeSync(this.fd, bytes);
    } else {
      this.buffer.set(bytes, this.used);
      this.used += bytes.length;
    }
    this.written += bytes.length;
  }

  appendText(text: string): void {
    this.append(Buffer.from(text, "utf8"));
  }

  flush(): void {
    if (this.used > 0) writeSync(this.fd, this.buffer, 0, this.used);
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** A growing Float64Array (exact for integers below 2^53: token and byte offsets). */
class Offsets {
  values = new Float64Array(1024);
  length = 0;
  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }
  at(i: number): number {
    return this.values[i]!;
  }
}

export class DocumentWriter {
  private readonly dir: string;
  private readonly packed: boolean;
  private readonly tokens: AppendFile;
  private readonly trained: AppendFile;
  private readonly rows: AppendFile;
  /** offsets[d] … offsets[d+1] are document d's tokens (input order); offsets[0] = 0. */
  private readonly offsets = new Offsets();
  /** Packed only: byte offset of document d's line in the scratch rows file. */
  private readonly rowOffsets = new Offsets();
  length = 0;
  trainedCount = 0;

  constructor(dir: string, packed: boolean) {
    assertLittleEndian();
    this.dir = dir;
    this.packed = packed;
    const name = (file: string) => join(dir, packed ? `${file}.input-order` : file);
    this.tokens = new AppendFile(name("tokens.bin"));
    this.trained = new AppendFile(name("trained.bin"));
    this.rows = new AppendFile(name("rows.jsonl"));
    this.offsets.push(0);
    this.rowOffsets.push(0);
  }

  get documentCount(): number {
    return this.offsets.length - 1;
  }

  documentLength(d: number): number {
    return this.offsets.at(d + 1) - this.offsets.at(d);
  }

  add(ids: Uint32Array, trained: Uint8Array, info: DocumentInfo): void {
    let trainedCount = 0;
    for (let i = 0; i < trained.length; i++) trainedCount += trained[i]!;
    this.tokens.append(bytesOf(ids));
    this.trained.append(trained);
    const row: Record<string, unknown> = { id: info.id, source: info.source };
    if (info.file !== undefined) row["file"] = info.file;
    if (info.part !== undefined) row["part"] = info.part;
    row["tokens"] = ids.length;
    row["trained"] = trainedCount;
    row["truncated"] = info.truncated;
    this.rows.appendText(`${JSON.stringify(row)}\n`);
    this.length += ids.length;
    this.trainedCount += trainedCount;
    this.offsets.push(this.length);
    this.rowOffsets.push(this.rows.written);
  }

  /** Token counts of all documents, in input order (for packing). */
  lengths(): Uint32Array {
    const out = new Uint32Array(this.documentCount);
    for (let d = 0; d < out.length; d++) out[d] = this.documentLength(d);
    return out;
  }

  /** Close the files and write `docs.bin` (and, packed, the pack-ordered arrays and `packs.bin`). */
  finish(packing: Packing | null): void {
    this.tokens.close();
    this.trained.close();
    this.rows.close();
    const count = this.documentCount;
    const docs = new BigInt64Array(count + 1);
    if (!this.packed || packing === null) {
      for (let d = 0; d < count; d++) docs[d + 1] = BigInt(this.offsets.at(d + 1));
      if (this.packed) this.reorder([...Array(count).keys()], docs);
    } else {
      this.reorder(packing.bins.flat(), docs);
      const packs = new BigInt64Array(packing.bins.length + 1);
      packing.bins.forEach((bin, p) => {
        packs[p + 1] = packs[p]! + BigInt(bin.length);
      });
      const packsFile = new AppendFile(join(this.dir, "packs.bin"));
      packsFile.append(bytesOf(packs));
      packsFile.close();
    }
    const docsFile = new AppendFile(join(this.dir, "docs.bin"));
    docsFile.append(bytesOf(docs));
    docsFile.close();
  }

  /** Copy the scratch files into the final ones in `order`; fills `docs` with the new offsets. */
  private reorder(order: readonly number[], docs: BigInt64Array): void {
    const copy = (file: string, unit: number, range: (d: number) => [number, number], onDoc?: (position: number, length: number) => void): void => {
      const scratch = join(this.dir, `${file}.input-order`);
      const source = openSync(scratch, "r");
      const target = new AppendFile(join(this.dir, file));
      let buffer = Buffer.allocUnsafe(1 << 16);
      order.forEach((d, position) => {
        const [start, end] = range(d);
        const bytes = (end - start) * unit;
        if (bytes > buffer.length) buffer = Buffer.allocUnsafe(bytes);
        let read = 0;
        while (read < bytes) read += readSync(source, buffer, read, bytes - read, start * unit + read);
        target.append(buffer.subarray(0, bytes));
        onDoc?.(position, end - start);
      });
      target.close();
      closeSync(source);
      rmSync(scratch);
    };
    const tokenRange = (d: number): [number, number] => [this.offsets.at(d), this.offsets.at(d + 1)];
    let at = 0;
    copy("tokens.bin", 4, tokenRange, (position, length) => {
      at += length;
      docs[position + 1] = BigInt(at);
    });
    copy("trained.bin", 1, tokenRange);
    copy("rows.jsonl", 1, (d) => [this.rowOffsets.at(d), this.rowOffsets.at(d + 1)]);
  }
}
