/**
 * Writing question/answer pairs for one chunk with an LLM: a fixed prompt asks for N pairs as a
 * JSON array `[{"question", "answer"}]`, answerable from the chunk alone, in the requested
 * language. The reply is checked with zod; an invalid reply is asked again, sampled at another seed
 * (src/generate/resample.ts). Each chunk's pairs are committed to kielo.db (`qa_chunks`) as soon as
 * they are valid, so a killed run resumes without asking again; a chunk that got no valid reply is
 * not stored, so the next run asks for it again.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { GenerationBackend, GenerationRequest } from "../generate/types.ts";
import type { Store } from "../store/db.ts";
import { getCachedQaPairs, putCachedQaPairs } from "../store/scorer-cache.ts";
import { extractJson } from "../eval/text/scorers/judge.ts";
import type { Chunk } from "./chunk.ts";

export const QA_PROMPT_VERSION = "qa-from-docs-1";

export const QaPairsSchema = z
  .array(z.object({ question: z.string().trim().min(3), answer: z.string().trim().min(1) }).loose())
  .min(1);
export type QaPair = { question: string; answer: string };

const LANGUAGE_NAMES: Record<string, string> = { en: "English", fi: "Finnish", sv: "Swedish", hi: "Hindi", de: "German", fr: "French", es: "Spanish", et: "Estonian" };

export function qaMessages(chunk: Chunk, pairs: number, lang: string | undefined): GenerationRequest["messages"] {
  const language = lang === undefined ? "the language of the text" : (LANGUAGE_NAMES[lang] ?? lang);
  return [
    {
      role: "system",
      content:
        "You write question/answer pairs for training a language model to answer questions from a given context. " +
        `Write exactly ${pairs} pairs in ${language}. Each question must be answerable from the CONTEXT alone and ask about something different; ` +
        "each answer must be correct by the CONTEXT, complete and self-contained. " +
        'Reply with a JSON array and nothing else: [{"question": "...", "answer": "..."}, ...].',
    },
    { role: "user", content: `CONTEXT:\n${chunk.text}` },
  ];
}

/** The text of a completion-style prompt (engine backend), from the same messages. */
export function qaCompletionPrompt(messages: NonNullable<GenerationRequest["messages"]>): string {
  return `${messages.map((m) => m.content).join("\n\n")}\n\nJSON:\n`;
}

export interface PairWriterOptions {
  /** The backend of each attempt: attempt 0 decodes as asked, retries resample. */
  backendFor: (attempt: number) => Promise<GenerationBackend>;
  /** The `qa_chunks` key of these settings ({@link qaSettingsHash}). */
  settingsHash: string;
  db: Store;
  pairs: number;
  lang?: string | undefined;
  maxInvalid: number;
  log: (line: string) => void;
  onChunk?: (chunk: Chunk, pairs: QaPair[], cached: boolean) => void;
}

export interface WrittenPairs {
  pairs: Map<Chunk, QaPair[]>;
  /** Chunks with no valid reply after every attempt, with the last reason. */
  failed: { chunk: Chunk; reason: string }[];
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** What decides a chunk's pairs besides its text: prompt version, backend, model, pairs, language, decoding. */
export function qaSettingsHash(backend: GenerationBackend, settings: { pairs: number; lang?: string | undefined; decodingHash: string }): string {
  return sha256(
    JSON.stringify([QA_PROMPT_VERSION, backend.name, backend.model, backend.identity, settings.pairs, settings.lang ?? null, settings.decodingHash]),
  ).slice(0, 32);
}

export function qaChunkHash(chunk: Chunk): string {
  return sha256(chunk.text);
}

export async function writePairs(chunks: readonly Chunk[], options: PairWriterOptions): Promise<WrittenPairs> {
  const out = new Map<Chunk, QaPair[]>();
  let pending: Chunk[] = [];
  for (const chunk of chunks) {
    const cached = getCachedQaPairs(options.db, options.settingsHash, qaChunkHash(chunk)) as QaPair[] | undefined;
    if (cached === undefined) pending.push(chunk);
    else {
      out.set(chunk, cached);
      options.onChunk?.(chunk, cached, true);
    }
  }
  const failures = new Map<Chunk, string>();
  for (let attempt = 0; attempt <= options.maxInvalid && pending.length > 0; attempt++) {
    const backend = await options.backendFor(attempt);
    const requests = pending.map((chunk, i) => {
      const messages = qaMessages(chunk, options.pairs, options.lang);
      return backend.style === "chat" ? { key: String(i), messages } : { key: String(i), prompt: qaCompletionPrompt(messages!) };
    });
    const invalid: Chunk[] = [];
    const batch = pending;
    await backend.generate(requests, {
      onResult: (result) => {
        const chunk = batch[Number(result.key)]!;
        const reject = (reason: string) => {
          failures.set(chunk, `${reason}; the reply began ${JSON.stringify(result.text.trim().slice(0, 60))}`);
          invalid.push(chunk);
        };
        let parsed;
        try {
          parsed = QaPairsSchema.safeParse(extractJson(result.text));
        } catch (error) {
          reject((error as Error).message);
          return;
        }
        if (!parsed.success) {
          reject(parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; "));
          return;
        }
        const pairs = parsed.data.map(({ question, answer }) => ({ question, answer }));
        putCachedQaPairs(options.db, options.settingsHash, qaChunkHash(chunk), pairs);
        out.set(chunk, pairs);
        options.onChunk?.(chunk, pairs, false);
      },
    });
    if (invalid.length > 0 && attempt < options.maxInvalid) {
      options.log(`${invalid.length} chunks got a reply that is not a valid JSON list of pairs; asking again (sampled, seed + ${attempt + 1})`);
    }
    pending = invalid;
  }
  const failed = pending.map((chunk) => ({ chunk, reason: failures.get(chunk)! }));
  for (const { chunk, reason } of failed) options.log(`skipped ${chunk.file} chunk ${chunk.index}: no valid pairs after ${attempts(options.maxInvalid)} (${reason})`);
  return { pairs: out, failed };
}

/** "1 attempt", "3 attempts": the attempts made with `maxInvalid` retries. */
export function attempts(maxInvalid: number): string {
  return maxInvalid === 0 ? "1 attempt" : `${maxInvalid + 1} attempts`;
}
