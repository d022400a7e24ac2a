/**
 * Mapping character spans of a text to the tokens of its encoding.
 *
 * Rule: a token belongs to a span when the token STARTS inside the span. A token that straddles the
 * span's start (begins before it) is outside; one that straddles its end (begins inside) is inside.
 * (transformers' `return_assistant_tokens_mask` also counts a token straddling the start; in the
 * templates kielo knows the span starts right after a special token or a newline, where no token
 * straddles.) Byte-fallback pieces of one character share its offsets and are treated alike.
 * Characters covered by no token (dropped by a normalizer) simply start no token.
 *
 * `tokenizers` reports offsets in Unicode code points (like Python), JS strings index UTF-16 code
 * units: indices are converted where the text has surrogate pairs.
 */
import type { CharSpan } from "../chat/message-spans.ts";

/** UTF-16 indices → code-point indices, for sorted-or-not indices, in one pass over the text. */
function toCodePoints(text: string, indices: readonly number[]): number[] {
  const order = indices.map((_, i) => i).sort((a, b) => indices[a]! - indices[b]!);
  const out = new Array<number>(indices.length);
  let lows = 0;
  let at = 0;
  for (const i of order) {
    const target = indices[i]!;
    for (; at < target; at++) {
      const c = text.charCodeAt(at);
      if (c >= 0xdc00 && c <= 0xdfff) lows++;
    }
    out[i] = target - lows;
  }
  return out;
}

/** Index of the first token whose start is at or after code point `c` (`starts.length` if none). */
function firstTokenFrom(starts: Uint32Array, c: number): number {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid]! < c) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Set `flags[i] = 1` for every token i that starts inside one of `spans` (UTF-16 indices into
 * `text`); `starts` are the tokens' code-point start offsets, in order.
 */
export function markSpanTokens(starts: Uint32Array, text: string, spans: readonly CharSpan[], flags: Uint8Array): void {
  if (spans.length === 0) return;
  const bounds = toCodePoints(text, spans.flatMap((span) => [span.start, span.end]));
  for (let s = 0; s < spans.length; s++) {
    flags.fill(1, firstTokenFrom(starts, bounds[2 * s]!), firstTokenFrom(starts, bounds[2 * s + 1]!));
  }
}
