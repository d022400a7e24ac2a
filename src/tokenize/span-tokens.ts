/**
 * Mapping character spans of a text to the tokens of its encoding.
 *
 * Rule: a token belongs to a span when the token STARTS inside the span. A token that straddles the
 * span's start (begins before it) is outside; one that straddles its end (begins inside) is inside.
 * (transformers' `return_assistant_tokens_mask` also counts a token straddling the start; in the
 * templates kielo knows the span starts right after a special token or a newline, where no token
 * straddles.) Byte-fallback pieces of one character share its offsets and are treated alike.
 *
 * `tokenizers` reports offsets in Unicode code points (like Python), JS strings index UTF-16 code
 * units: indices are converted where the text has surrogate pairs.
 */
import type { Encoding } from "tokenizers";
import type { CharSpan } from "../chat/message-spans.ts";

const SURROGATE = /[\uD800-\uDFFF]/;

/** Code-point index of a UTF-16 index (counts low surrogates before it). */
function codePointIndex(text: string, utf16Index: number): number {
  let lows = 0;
  for (let i = 0; i < utf16Index; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) lows++;
  }
  return utf16Index - lows;
}

/** Index of the first token that starts at or after code point `c` (`tokenCount` if none). */
function firstTokenFrom(encoding: Encoding, c: number, charCount: number, tokenCount: number): number {
  let pos = c;
  let t: number | null = null;
  // Characters covered by no token (dropped by a normalizer) are skipped.
  while (pos < charCount && (t = encoding.charToToken(pos)) === null) pos++;
  if (t === null) return tokenCount;
  const startOf = (i: number): number => encoding.tokenToChars(i)?.[0] ?? -1;
  if (startOf(t) < c) {
    while (t < tokenCount && startOf(t) < c) t++;
  } else {
    while (t > 0 && startOf(t - 1) >= c) t--;
  }
  return t;
}

/**
 * Set `flags[i] = 1` for every token i of `encoding` (of `text`) that starts inside one of `spans`.
 */
export function markSpanTokens(encoding: Encoding, text: string, spans: readonly CharSpan[], flags: Uint8Array): void {
  if (spans.length === 0) return;
  const tokenCount = flags.length;
  const wide = SURROGATE.test(text);
  const toChar = (i: number): number => (wide ? codePointIndex(text, i) : i);
  const charCount = toChar(text.length);
  for (const span of spans) {
    const from = firstTokenFrom(encoding, toChar(span.start), charCount, tokenCount);
    const to = firstTokenFrom(encoding, toChar(span.end), charCount, tokenCount);
    flags.fill(1, from, to);
  }
}
