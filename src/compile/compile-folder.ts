/**
 * `kielo data compile` as a function: records file + tokenizer folder → compiled-data folder,
 * written atomically, refusing to replace a different compile unless forced.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { LoadedTokenizer } from "../tokenize/tokenizer-folder.ts";
import { loadChatTemplate } from "../chat/chat-template.ts";
import { writeDirAtomic } from "../util/atomic.ts";
import { KieloError } from "../util/errors.ts";
import { kieloVersion } from "../util/version.ts";
import { writeFile } from "node:fs/promises";
import { compileRecords, DROP_REASONS, type CompiledRecords, type CompileOptions } from "./compile-records.ts";
import { DocumentWriter } from "./document-writer.ts";
import {
  differingInputs,
  inputsOfManifest,
  ManifestSchema,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  type CompileInputs,
  type Manifest,
} from "./manifest.ts";
import { readRecords, type RecordLine } from "../data/records-file.ts";

export interface CompileFolderOptions extends CompileOptions {
  /** Replace an output folder that holds a different compile. */
  force?: boolean;
  /** sha256 of the records file when the caller has already hashed it (saves a pass over the file). */
  sourceSha256?: string;
  /**
   * The records, when they are not simply the file `sourcePath` (several files, or a selection of
   * rows); each names its own file and line. `sourcePath` then only labels the manifest.
   */
  records?: () => AsyncIterable<RecordLine>;
}

export interface CompileFolderResult {
  /** `written`, or `up-to-date` when the folder already held a compile of the same inputs. */
  status: "written" | "up-to-date";
  manifest: Manifest;
  outDir: string;
}

/** sha256 and line count of a file, in one streaming pass. */
export async function hashFile(path: string): Promise<{ sha256: string; lines: number }> {
  return hashFiles([path]);
}

/** sha256 and line count of files read one after the other (equal to those of their concatenation). */
export async function hashFiles(paths: readonly string[]): Promise<{ sha256: string; lines: number }> {
  const hash = createHash("sha256");
  let lines = 0;
  for (const path of paths) {
    try {
      for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
        hash.update(chunk);
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      }
    } catch (error) {
      throw new KieloError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  return { sha256: hash.digest("hex"), lines };
}


/** The manifest already in `outDir`: undefined if the folder is absent or empty; an error if it holds something else. */
function existingManifest(outDir: string): Manifest | undefined {
  if (!existsSync(outDir)) return undefined;
  if (!statSync(outDir).isDirectory()) {
    throw new KieloError(`${outDir} is a file; --out names the folder to write the compiled data into`, {
      hint: "Choose another --out (a folder), or remove the file yourself.",
    });
  }
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

/**
 * The largest pack size: 16M tokens, far above any context length, and small enough for the
 * packer's per-room bookkeeping (an array of pack-size entries).
 */
export const MAX_PACK = 1 << 24;
/** The largest document length accepted: the 2^31 tokens a 32-bit signed offset can count. */
export const MAX_LENGTH = 2 ** 31 - 1;

/** Check options that do not depend on the data. */
export function validateOptions(options: CompileOptions): CompileOptions {
  const { maxLength, pack } = options;
  if (maxLength !== null && (!Number.isInteger(maxLength) || maxLength < 2 || maxLength > MAX_LENGTH)) {
    throw new KieloError(`--max-length must be an integer from 2 to ${MAX_LENGTH}, got ${maxLength}`);
  }
  if (pack !== null && (!Number.isInteger(pack) || pack < 2 || pack > MAX_PACK)) {
    throw new KieloError(`--pack must be an integer from 2 to ${MAX_PACK.toLocaleString("en-US")}, got ${pack}`, {
      hint: "The pack size is the training sequence length in tokens, e.g. 2048 or 4096.",
    });
  }
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

  // Documents are written as they are compiled, into a temporary folder that replaces `out` only when
  // complete (and is thrown away when `out` already holds the same compile).
  let result: CompileFolderResult | undefined;
  await writeDirAtomic(out, async (dir) => {
    const writer = new DocumentWriter(dir, options.pack !== null);
    const records = rawOptions.records?.() ?? readRecords(sourcePath);
    const compiled = await compileRecords(records, sourcePath, tokenizer, options, writer);
    writer.finish(compiled.packing);
    const manifest = buildManifest(compiled, tokenizer, options, { path: resolve(sourcePath), sha256 });
    if (existing !== undefined && !rawOptions.force) {
      const differences = differingInputs(inputsOfManifest(existing), inputsOfManifest(manifest));
      if (differences.length > 0) refuse(differences);
      result = { status: "up-to-date", manifest: existing, outDir: out };
      return "discard";
    }
    if (compiled.rowsIn === 0) {
      throw new KieloError(`${sourcePath} holds no records`, { hint: "Check that it is the file you meant." });
    }
    if (compiled.rowsOut === 0) throw nothingCompiled(sourcePath, compiled, options);
    await writeFile(join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    result = { status: "written", manifest, outDir: out };
  });
  return result!;
}

/** Every row dropped: an error that says why, with a hint for the usual causes. */
function nothingCompiled(sourcePath: string, compiled: CompiledRecords, options: CompileOptions): KieloError {
  const reasons = Object.entries(compiled.dropped).map(([reason, n]) => `${reason} ${n}`).join(", ");
  const hints: string[] = [];
  if (compiled.dropped[DROP_REASONS.noTrainedTokens]) {
    hints.push(
      options.policy === "all"
        ? "no-trained-tokens: each row is a single token long."
        : `no-trained-tokens: the rows have no assistant reply to train under --policy ${options.policy}; records need an assistant turn, or use --policy all.`,
    );
  }
  if (compiled.dropped[DROP_REASONS.tooLong]) hints.push("too-long: raise --max-length, or use --truncation keep-start / keep-end.");
  if (compiled.dropped[DROP_REASONS.promptNotPrefix]) hints.push("prompt-not-prefix: the template renders the prompt differently inside a full conversation; try another --template.");
  return new KieloError(`${sourcePath}: all ${compiled.rowsIn} rows were dropped (${reasons}); nothing written`, {
    ...(hints.length > 0 ? { hint: hints.join(" ") } : {}),
  });
}
