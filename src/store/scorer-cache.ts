/**
 * The `scorer_cache` table: model-based scores already computed (the LLM judge), keyed by a hash
 * of the scorer's settings and a hash of the input, each committed as soon as it is known so a
 * killed run re-asks nothing it already has. The `qa_chunks` table works the same way for the
 * question/answer pairs written per document chunk.
 */
import type { Store } from "./db.ts";

export function getCachedScore(db: Store, scorerHash: string, inputHash: string): unknown {
  const row = db.prepare("SELECT result_json FROM scorer_cache WHERE scorer_hash = ? AND input_hash = ?").get(scorerHash, inputHash) as
    | { result_json: string }
    | undefined;
  return row === undefined ? undefined : (JSON.parse(row.result_json) as unknown);
}

export function putCachedScore(db: Store, scorerHash: string, inputHash: string, result: unknown): void {
  db.prepare("INSERT OR REPLACE INTO scorer_cache (scorer_hash, input_hash, result_json) VALUES (?, ?, ?)").run(
    scorerHash,
    inputHash,
    JSON.stringify(result),
  );
}

export function getCachedQaPairs(db: Store, settingsHash: string, chunkHash: string): unknown {
  const row = db.prepare("SELECT pairs_json FROM qa_chunks WHERE settings_hash = ? AND chunk_hash = ?").get(settingsHash, chunkHash) as
    | { pairs_json: string }
    | undefined;
  return row === undefined ? undefined : (JSON.parse(row.pairs_json) as unknown);
}

export function putCachedQaPairs(db: Store, settingsHash: string, chunkHash: string, pairs: unknown): void {
  db.prepare("INSERT OR REPLACE INTO qa_chunks (settings_hash, chunk_hash, pairs_json) VALUES (?, ?, ?)").run(
    settingsHash,
    chunkHash,
    JSON.stringify(pairs),
  );
}
