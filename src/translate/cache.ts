/**
 * The translation cache in kielo.db (`translations` table): one row per finished segment, keyed by
 * (sha256 of the protected source segment, model, prompt version, decoding-settings hash). Each
 * row is committed on its own as soon as the segment is back, so a crash loses only what was in
 * flight, and a re-run skips everything already there.
 */
import { createHash } from "node:crypto";
import type { Store } from "../store/db.ts";
import { getTranslation, putTranslation } from "../store/translations.ts";
import type { FinishReason } from "../generate/types.ts";

export interface CachedSegment {
  target: string;
  finishReason: FinishReason;
}

export interface CacheKeyParts {
  model: string;
  promptVersion: string;
  decodingHash: string;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Hash of everything besides the source and prompt that changes an output. Keys are sorted. */
export function decodingHash(settings: Record<string, unknown>): string {
  return sha256(stableJson(settings)).slice(0, 16);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export class TranslationCache {
  private readonly db: Store;
  private readonly key: CacheKeyParts;

  constructor(db: Store, key: CacheKeyParts) {
    this.db = db;
    this.key = key;
  }

  get(sourceHash: string): CachedSegment | undefined {
    const row = getTranslation(this.db, sourceHash, this.key);
    if (row === undefined) return undefined;
    return { target: row.target_text, finishReason: (row.finish_reason ?? "stop") as FinishReason };
  }

  put(sourceHash: string, sourceText: string, segment: CachedSegment): void {
    putTranslation(this.db, sourceHash, this.key, { sourceText, targetText: segment.target, finishReason: segment.finishReason });
  }
}
