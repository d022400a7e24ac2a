/**
 * Reading a compiled-data folder (docs/formats.md §2): the manifest, the arrays as typed arrays over
 * the file bytes, and per-document rows. Used by `kielo data inspect` and by the training scheduler
 * (document and sequence lengths for length grouping and batching).
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { KieloError } from "../util/errors.ts";
import { ManifestSchema, type Manifest } from "./manifest.ts";
import { assertLittleEndian } from "./document-writer.ts";

export interface CompiledRow {
  id: string;
  source: number;
  /** The source file, when the compile read several (a recipe's `data.train` list). */
  file?: string;
  part?: "chosen" | "rejected";
  tokens: number;
  trained: number;
  truncated: boolean;
}

export interface CompiledData {
  dir: string;
  manifest: Manifest;
  tokens: Uint32Array;
  trained: Uint8Array;
  /** D + 1 offsets into tokens. */
  docs: BigInt64Array;
  /** P + 1 offsets into docs, when packed. */
  packs: BigInt64Array | null;
  documentCount: number;
  /** Token range [start, end) of document d. */
  documentRange(d: number): { start: number; end: number };
  /** Per-document rows (read from rows.jsonl on first use). */
  rows(): CompiledRow[];
}

function readArray<T>(dir: string, name: string, bytesPerItem: number, make: (buffer: ArrayBuffer, offset: number, length: number) => T): T {
  const path = join(dir, name);
  if (!existsSync(path)) throw new KieloError(`${path} is missing: ${dir} is not a complete compiled-data folder`);
  const bytes = readFileSync(path);
  if (bytes.byteLength % bytesPerItem !== 0) throw new KieloError(`${path}: size ${bytes.byteLength} is not a multiple of ${bytesPerItem}`);
  // Typed arrays need aligned offsets; a pooled small Buffer may not be, so copy then.
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : Buffer.from(bytes);
  return make(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.byteLength / bytesPerItem);
}

export function openCompiled(folder: string): CompiledData {
  assertLittleEndian();
  const dir = resolve(folder);
  const manifestPath = join(dir, "manifest.json");
  if (!existsSync(manifestPath)) throw new KieloError(`${dir} holds no compiled data (no manifest.json)`, { hint: "Create it with kielo data compile." });
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manifestPath, "utf8"));
  } catch (error) {
    throw new KieloError(`${manifestPath}: malformed JSON (${(error as Error).message})`);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new KieloError(`${manifestPath} (field ${issue.path.join(".") || "(root)"}): ${issue.message}`);
  }
  const manifest = parsed.data;
  const tokens = readArray(dir, "tokens.bin", 4, (b, o, n) => new Uint32Array(b, o, n));
  const trained = readArray(dir, "trained.bin", 1, (b, o, n) => new Uint8Array(b, o, n));
  const docs = readArray(dir, "docs.bin", 8, (b, o, n) => new BigInt64Array(b, o, n));
  const packs = manifest.packing === null ? null : readArray(dir, "packs.bin", 8, (b, o, n) => new BigInt64Array(b, o, n));
  const documentCount = docs.length - 1;
  if (tokens.length !== manifest.tokens || trained.length !== manifest.tokens || documentCount !== manifest.documents) {
    throw new KieloError(`${dir}: array sizes do not match manifest.json (tokens ${tokens.length}/${manifest.tokens}, documents ${documentCount}/${manifest.documents})`);
  }
  let rows: CompiledRow[] | null = null;
  return {
    dir,
    manifest,
    tokens,
    trained,
    docs,
    packs,
    documentCount,
    documentRange(d) {
      if (!Number.isInteger(d) || d < 0 || d >= documentCount) throw new KieloError(`document ${d} does not exist (${dir} has ${documentCount})`);
      return { start: Number(docs[d]!), end: Number(docs[d + 1]!) };
    },
    rows() {
      rows ??= readFileSync(join(dir, "rows.jsonl"), "utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as CompiledRow);
      return rows;
    },
  };
}

/** Token count of every document, in stored order (for length grouping). */
export function documentLengths(compiled: CompiledData | string): Uint32Array {
  const data = typeof compiled === "string" ? openCompiled(compiled) : compiled;
  const out = new Uint32Array(data.documentCount);
  for (let d = 0; d < out.length; d++) out[d] = Number(data.docs[d + 1]! - data.docs[d]!);
  return out;
}

/**
 * Token count of every sequence — the unit batches are made of: a document, a pack (when packed),
 * or a chosen+rejected pair (preference data: the sum of both documents).
 */
export function sequenceLengths(compiled: CompiledData | string): Uint32Array {
  const data = typeof compiled === "string" ? openCompiled(compiled) : compiled;
  const docs = documentLengths(data);
  if (data.packs !== null) {
    const out = new Uint32Array(data.packs.length - 1);
    for (let p = 0; p < out.length; p++) out[p] = Number(data.docs[Number(data.packs[p + 1]!)]! - data.docs[Number(data.packs[p]!)]!);
    return out;
  }
  if (data.manifest.kind === "preference") {
    const out = new Uint32Array(docs.length / 2);
    for (let k = 0; k < out.length; k++) out[k] = docs[2 * k]! + docs[2 * k + 1]!;
    return out;
  }
  return docs;
}
