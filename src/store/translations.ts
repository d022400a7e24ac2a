/** SQL of the `translations` table: the translation cache, one row per finished segment. */
import type { Store } from "./db.ts";

export interface TranslationKey {
  model: string;
  promptVersion: string;
  decodingHash: string;
}

export interface TranslationRow {
  target_text: string;
  finish_reason: string | null;
}

export function getTranslation(db: Store, sourceHash: string, key: TranslationKey): TranslationRow | undefined {
  return db
    .prepare("SELECT target_text, finish_reason FROM translations WHERE source_hash = ? AND model = ? AND prompt_version = ? AND decoding_hash = ?")
    .get(sourceHash, key.model, key.promptVersion, key.decodingHash) as TranslationRow | undefined;
}

export function putTranslation(
  db: Store,
  sourceHash: string,
  key: TranslationKey,
  row: { sourceText: string; targetText: string; finishReason: string },
): void {
  db.prepare(
    `INSERT OR REPLACE INTO translations (source_hash, model, prompt_version, decoding_hash, source_text, target_text, finish_reason)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  ).run(sourceHash, key.model, key.promptVersion, key.decodingHash, row.sourceText, row.targetText, row.finishReason);
}
