/**
 * Fitting a document into `maxLength` tokens.
 *
 * - `drop` (the default): a document longer than max_length is left out (counted as `too-long`).
 *   Every kept example is whole, so each trained reply still ends with its end-of-turn/EOS token —
 *   a model trained on cut-off replies learns not to stop.
 * - `keep-start`: keep the first max_length tokens (what TRL and transformers do).
 * - `keep-end`: keep the last max_length tokens (keeps the final reply whole, loses the start).
 *
 * After truncation the first token is never trained (nothing in the document precedes it).
 */
export const TRUNCATIONS = ["drop", "keep-start", "keep-end"] as const;
export type Truncation = (typeof TRUNCATIONS)[number];

export interface FittedDocument {
  ids: Uint32Array;
  trained: Uint8Array;
  truncated: boolean;
}

/** Returns null when the document is dropped (too long under `drop`). */
export function fitDocument(
  ids: Uint32Array,
  trained: Uint8Array,
  maxLength: number | null,
  truncation: Truncation,
): FittedDocument | null {
  let outIds = ids;
  let outTrained = trained;
  let truncated = false;
  if (maxLength !== null && ids.length > maxLength) {
    if (truncation === "drop") return null;
    truncated = true;
    const from = truncation === "keep-start" ? 0 : ids.length - maxLength;
    outIds = ids.subarray(from, from + maxLength);
    outTrained = trained.subarray(from, from + maxLength);
  }
  if (outTrained.length > 0) outTrained[0] = 0;
  return { ids: outIds, trained: outTrained, truncated };
}
