/**
 * `kielo data compile` as a function: records file + tokenizer folder → compiled-data folder,
 * written atomically, refusing to replace a different compile unless forced.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { LoadedTokenizer } from "../tokenize/tokenizer-folder.ts";
import { loadChatTemplate } from "../chat/chat-template.ts";
import { writeDirAtomic } from "../util/atomic.ts";
import { KieloError } from "../util/errors.ts";
import { compileRecords, type CompiledRecords, type CompileOptions } from "./compile-records.ts";
import {
  differingInputs,
  inputsOfManifest,
  ManifestSchema,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  type CompileInputs,
  type Manifest,
} from "./manifest.ts";
import { readRecords } from "../data/records-file.ts";
import { writeCompiledFiles } from "./write-compiled.ts";

export interface CompileFolderOptions extends CompileOptions {
  /** Replace an output folder that holds a different compile. */
  force?: boolean;
  /** sha256 of the records file when the caller has already hashed it (saves a pass over the file). */
  sourceSha256?: string;
}

export interface CompileFolderResult {
  /** `written`, or `up-to-date` when the folder already held a compile of the same inputs. */
  status: "written" | "up-to-date";
  manifest: Manifest;
  outDir: string;
}

/** sha256 and line count of a file, in one streaming pass. */
export async function hashFile(path: string): Promise<{ sha256: string; lines: number }> {
  const hash = createHash("sha256");
  let lines = 0;
  try {
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    }
  } catch (error) {
    throw new KieloError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return { sha256: hash.digest("hex"), lines };
}

function kieloVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** The manifest already in `outDir`: undefined if the folder is absent or empty; an error if it holds something else. */
function existingManifest(outDir: string): Manifest | undefined {
  if (!existsSync(outDir)) return undefined;
  const entries = readdirSync(outDir);
  if (entries.length === 0) return undefined;
  const path = join(outDir, "manifest.json");
  const parsed = existsSync(path) ? ManifestSchema.safeParse(safeJson(path)) : undefined;
  if (parsed?.success !== true) {
    // Never delete a folder kielo did not write, --force or not.
    throw new KieloError(`${outDir} exists and is not a kielo compiled-data folder; refusing to replace it`, {
      hint: "Choose another --out, or remove the folder yourself.",
    });
  }
  return parsed.data;
}

function safeJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

export function buildManifest(
  compiled: CompiledRecords,
  tokenizer: LoadedTokenizer,
  options: CompileOptions,
  source: { path: string; sha256: string },
): Manifest {
  const uses = [...compiled.templates.values()];
  let template: Manifest["template"];
  if (uses.length === 1) template = { name: uses[0]!.template.name, sha256: uses[0]!.template.sha256 };
  else if (uses.length === 0) {
    // No rows: record the template that would have been used, if known.
    template = { name: options.template ?? "model", sha256: "" };
  } else {
    const list = uses.map((u) => ({ name: u.template.name, sha256: u.template.sha256, rows: u.rows })).sort((a, b) => a.name.localeCompare(b.name));
    template = {
      name: "per-record",
      sha256: createHash("sha256").update(list.map((u) => `${u.name}:${u.sha256}`).join("\n")).digest("hex"),
      templates: list,
    };
  }
  const { store } = compiled;
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    kind: compiled.kind,
    tokenizer: {
      sha256: tokenizer.sha256,
      path: tokenizer.dir,
      vocab_size: tokenizer.vocabSize,
      bos_token_id: tokenizer.special.bos_token?.id ?? null,
      eos_token_id: tokenizer.special.eos_token?.id ?? null,
      pad_token_id: tokenizer.special.pad_token?.id ?? null,
    },
    template,
    policy: compiled.kind === "preference" ? "completion" : options.policy,
    max_length: options.maxLength,
    truncation: options.truncation,
    packing: compiled.packing === null ? null : { seq_len: options.pack!, algorithm: "best-fit-decreasing" },
    rows_in: compiled.rowsIn,
    rows_out: compiled.rowsOut,
    dropped: compiled.dropped,
    documents: store.documentCount,
    sequences: compiled.packing !== null ? compiled.packing.bins.length : compiled.kind === "preference" ? compiled.rowsOut : store.documentCount,
    tokens: store.length,
    trained_tokens: store.trainedCount,
    truncated: compiled.truncated,
    source,
    created_at: new Date().toISOString(),
    kielo_version: kieloVersion(),
  };
}

/** Check options that do not depend on the data. */
export function validateOptions(options: CompileOptions): CompileOptions {
  const { maxLength, pack } = options;
  if (maxLength !== null && (!Number.isInteger(maxLength) || maxLength < 2)) throw new KieloError(`--max-length must be an integer ≥ 2, got ${maxLength}`);
  if (pack !== null && (!Number.isInteger(pack) || pack < 2)) throw new KieloError(`--pack must be an integer ≥ 2, got ${pack}`);
  if (pack !== null && maxLength !== null && maxLength > pack) {
    throw new KieloError(`--max-length ${maxLength} is larger than --pack ${pack}: such documents fit in no pack`, { hint: "Leave out --max-length (it defaults to the pack size) or lower it." });
  }
  // Packing fits documents into packs: longer ones are truncated or dropped to the pack size first.
  return pack !== null && maxLength === null ? { ...options, maxLength: pack } : options;
}

export async function compileFolder(
  sourcePath: string,
  tokenizer: LoadedTokenizer,
  outDir: string,
  rawOptions: CompileFolderOptions,
): Promise<CompileFolderResult> {
  const options = validateOptions(rawOptions);
  const out = resolve(outDir);
  const sha256 = rawOptions.sourceSha256 ?? (await hashFile(sourcePath)).sha256;
  const existing = existingManifest(out);
  const explicitTemplate = options.template === undefined ? null : loadChatTemplate(options.template, tokenizer);
  const wanted: CompileInputs = {
    source_sha256: sha256,
    tokenizer_sha256: tokenizer.sha256,
    template_sha256: explicitTemplate?.sha256 ?? null,
    policy: null,
    max_length: options.maxLength,
    truncation: options.truncation,
    packing: options.pack === null ? null : { seq_len: options.pack, algorithm: "best-fit-decreasing" },
  };
  const refuse = (differences: string[]): never => {
    throw new KieloError(`${out} already holds a different compile (it differs in: ${differences.join(", ")})`, {
      hint: "Pass --force to replace it, or choose another --out.",
    });
  };
  if (existing !== undefined && !rawOptions.force) {
    // Checked before compiling so that a refusal is immediate (the policy is compared once the kind is known).
    const differences = differingInputs(inputsOfManifest(existing), wanted);
    if (differences.length > 0) refuse(differences);
  }

  const compiled = await compileRecords(readRecords(sourcePath), sourcePath, tokenizer, options);
  const manifest = buildManifest(compiled, tokenizer, options, { path: resolve(sourcePath), sha256 });
  if (existing !== undefined && !rawOptions.force) {
    const differences = differingInputs(inputsOfManifest(existing), inputsOfManifest(manifest));
    if (differences.length > 0) refuse(differences);
    return { status: "up-to-date", manifest: existing, outDir: out };
  }
  await writeDirAtomic(out, (dir) => writeCompiledFiles(dir, compiled, manifest));
  return { status: "written", manifest, outDir: out };
}
