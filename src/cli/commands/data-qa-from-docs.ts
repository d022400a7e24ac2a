/** `kielo data qa-from-docs`: question/answer training records written by an LLM from your documents. */
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { toJsonl } from "../../data/jsonl.ts";
import { addBackendOptions, backendFromOptions, type BackendCliOptions } from "../backend-options.ts";
import { DOCUMENT_KINDS } from "../../qa/documents.ts";
import { RESAMPLE_TEMPERATURE, resampleDecoding } from "../../generate/resample.ts";
import type { GenerationBackend } from "../../generate/types.ts";
import { qaSettingsHash } from "../../qa/pairs.ts";
import { qaFromDocs } from "../../qa/qa-from-docs.ts";
import { defaultStorePath, openStore } from "../../store/db.ts";
import { finishRun, startRun, statusOfError } from "../../store/runs.ts";
import { decodingHash } from "../../translate/cache.ts";
import { loadTokenizer } from "../../tokenize/tokenizer-folder.ts";
import { writeFileAtomic } from "../../util/atomic.ts";
import { KieloError } from "../../util/errors.ts";
import { number } from "../options.ts";

interface QaCliOptions extends BackendCliOptions {
  out: string;
  force?: boolean;
  tokenizer?: string;
  chunkTokens: string;
  pairs: string;
  lang?: string;
  maxInvalid: string;
  dedupe: string;
  db?: string;
  quiet?: boolean;
}

export function registerDataQaFromDocs(data: Command): void {
  const command = data
    .command("qa-from-docs")
    .description(
      `write question/answer pairs from documents (${DOCUMENT_KINDS.join(", ")}) with an LLM, as qa-context records: ` +
        "chunks by heading and paragraph within a token budget, JSON checked (invalid replies asked again), each chunk cached in kielo.db, near-duplicate questions removed",
    )
    .argument("<files...>", "documents")
    .requiredOption("--out <file.jsonl>", "the records (written atomically)")
    .option("--force", "replace an existing --out")
    .option("--tokenizer <dir>", "the model's tokenizer folder, for the chunk budget (default with --backend engine: --model)")
    .option("--chunk-tokens <n>", "most tokens per chunk", "768")
    .option("--pairs <n>", "question/answer pairs asked per chunk", "3")
    .option("--lang <code>", "write the pairs in this language (e.g. fi), whatever the documents' language")
    .option("--max-invalid <n>", `times a chunk is asked again (sampled: temperature at least ${RESAMPLE_TEMPERATURE}, --seed + n) after a reply that is not a valid JSON list of pairs`, "2")
    .option("--dedupe <threshold>", "drop a question whose word-bigram Jaccard similarity to an earlier one is at least this (1 = exact only)", "0.7")
    .option("--db <file>", `the store (default: $KIELO_DB or ./kielo.db, now ${defaultStorePath()})`)
    .option("--quiet", "no progress");
  addBackendOptions(command).action(async (files: string[], options: QaCliOptions) => {
    if (existsSync(options.out) && !options.force) throw new KieloError(`${options.out} exists`, { hint: "pass --force to replace it" });
    const tokenizerDir = options.tokenizer ?? (options.backend === "engine" ? options.model : undefined);
    if (tokenizerDir === undefined) {
      throw new KieloError("--tokenizer is required with --backend openai: the chunk budget is counted in the model's tokens", {
        hint: "point --tokenizer at the model's Hugging Face folder (tokenizer.json)",
      });
    }
    const tokenizer = loadTokenizer(tokenizerDir);
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const stop = ["\n\n\n"];
    const { backend, decoding } = await backendFromOptions(options, stop, log);
    const pairs = number(options.pairs, "--pairs", { integer: true, min: 1 });
    const settingsHash = qaSettingsHash(backend, { pairs, lang: options.lang, decodingHash: decodingHash({ ...decoding }) });
    const backendFor = async (attempt: number): Promise<GenerationBackend> => {
      if (attempt === 0) return backend;
      const { seed, temperature } = resampleDecoding(decoding, attempt);
      return (await backendFromOptions({ ...options, seed: String(seed), temperature: String(temperature) }, stop, log)).backend;
    };
    const dbPath = options.db ?? defaultStorePath();
    const db = openStore(dbPath);
    const runId = startRun(db, "qa-from-docs", {
      // cache_key: this run's rows in qa_chunks (a rerun with the same settings resumes from them).
      config: { files, out: options.out, model: options.model, backend: options.backend, lang: options.lang ?? null, cache_key: settingsHash },
    });
    try {
      const result = await qaFromDocs({
        files,
        backendFor,
        settingsHash,
        tokenizer,
        chunkTokens: number(options.chunkTokens, "--chunk-tokens", { integer: true, min: 16 }),
        pairs,
        lang: options.lang,
        maxInvalid: number(options.maxInvalid, "--max-invalid", { integer: true, min: 0 }),
        dedupeThreshold: number(options.dedupe, "--dedupe", { min: 0, max: 1 }),
        db,
        quiet: Boolean(options.quiet),
        log,
      });
      await writeFileAtomic(options.out, toJsonl(result.records));
      const { records: _records, ...summary } = result;
      finishRun(db, runId, "done", { ...summary, records: result.records.length });
      process.stdout.write(
        `${result.documents} documents → ${result.chunks} chunks (${result.cachedChunks} from the cache, ${result.skippedChunks} skipped) → ` +
          `${result.pairs} pairs, ${result.duplicates} near-duplicate questions removed → ${result.records.length} records in ${options.out}\n`,
      );
    } catch (error) {
      finishRun(db, runId, statusOfError(error));
      throw error;
    } finally {
      db.close();
    }
  });
}
