/**
 * `kielo data qa-from-docs`: documents → chunks → LLM-written question/answer pairs → near-duplicate
 * questions removed → `qa-context` records (the chunk as context; `meta.source` = file and page),
 * the same records `data convert --format qa-context` makes, so `data compile` takes them as they
 * are (template `qa-context`).
 */
import { basename } from "node:path";
import type { Conversation } from "../data/records.ts";
import { QA_CONTEXT_SYSTEM, qaContextUserTurn } from "../data/adapters/qa-context.ts";
import type { GenerationBackend } from "../generate/types.ts";
import type { Store } from "../store/db.ts";
import type { LoadedTokenizer } from "../tokenize/tokenizer-folder.ts";
import { KieloError } from "../util/errors.ts";
import { Progress } from "../util/progress.ts";
import { chunkBlocks, type Chunk } from "./chunk.ts";
import { keepDistinct } from "./dedupe.ts";
import { readDocument } from "./documents.ts";
import { attempts, writePairs } from "./pairs.ts";

export interface QaFromDocsOptions {
  files: readonly string[];
  /** The backend of each attempt (0 = as asked; retries resample). */
  backendFor: (attempt: number) => Promise<GenerationBackend>;
  /** The `qa_chunks` key of these settings (`qaSettingsHash`). */
  settingsHash: string;
  tokenizer: LoadedTokenizer;
  chunkTokens: number;
  pairs: number;
  lang?: string | undefined;
  maxInvalid: number;
  dedupeThreshold: number;
  db: Store;
  quiet?: boolean;
  log: (line: string) => void;
}

export interface QaFromDocsResult {
  records: Conversation[];
  documents: number;
  chunks: number;
  cachedChunks: number;
  pairs: number;
  duplicates: number;
  skippedChunks: number;
}

export async function qaFromDocs(options: QaFromDocsOptions): Promise<QaFromDocsResult> {
  // Every document is read and chunked before any model call, so a bad document fails at once.
  const chunks: Chunk[] = [];
  for (const file of options.files) {
    const blocks = await readDocument(file);
    chunks.push(...(await chunkBlocks(file, blocks, options.tokenizer.tokenizer, options.chunkTokens)));
  }
  const progress = new Progress("qa-from-docs", { unit: "chunks", total: chunks.length, quiet: Boolean(options.quiet) });
  let cachedChunks = 0;
  const { pairs: written, failed } = await writePairs(chunks, {
    backendFor: options.backendFor,
    settingsHash: options.settingsHash,
    db: options.db,
    pairs: options.pairs,
    lang: options.lang,
    maxInvalid: options.maxInvalid,
    log: options.log,
    onChunk: (_chunk, _pairs, cached) => {
      if (cached) cachedChunks += 1;
      progress.tick();
    },
  });
  progress.done();
  if (written.size === 0 && failed.length > 0) {
    const { chunk, reason } = failed[0]!;
    const model = (await options.backendFor(0)).model;
    throw new KieloError(
      `${model} wrote no valid JSON list of question/answer pairs for any of the ${chunks.length} chunks, ` +
        `after ${attempts(options.maxInvalid)} each (${chunk.file} chunk ${chunk.index}: ${reason}); nothing was written`,
      {
        hint:
          'the reply must be a JSON list [{"question": ..., "answer": ...}]: use an instruction-following model ' +
          "(--backend engine sends a plain-text prompt, no chat template; --backend openai --endpoint chat uses the server's), or raise --max-invalid",
      },
    );
  }

  const candidates: { chunk: Chunk; question: string; answer: string; n: number }[] = [];
  for (const chunk of chunks) {
    (written.get(chunk) ?? []).forEach((pair, n) => candidates.push({ chunk, ...pair, n: n + 1 }));
  }
  const kept = keepDistinct(candidates.map((c) => c.question), options.dedupeThreshold);
  const records = kept.map((index): Conversation => {
    const { chunk, question, answer, n } = candidates[index]!;
    const stem = basename(chunk.file).replace(/\.[^.]+$/, "");
    return {
      kind: "conversation",
      id: `qa-${stem}-${chunk.index}-${n}`,
      ...(options.lang === undefined ? {} : { lang: options.lang }),
      messages: [
        { role: "system", content: QA_CONTEXT_SYSTEM },
        { role: "user", content: qaContextUserTurn(question, chunk.text) },
        { role: "assistant", content: answer },
      ],
      meta: {
        source: { file: basename(chunk.file), ...(chunk.pages ? { page: chunk.pages[0], pages: chunk.pages } : {}), chunk: chunk.index },
        template: "qa-context",
        question,
      },
    };
  });
  return {
    records,
    documents: options.files.length,
    chunks: chunks.length,
    cachedChunks,
    pairs: candidates.length,
    duplicates: candidates.length - kept.length,
    skippedChunks: chunks.length - written.size,
  };
}
