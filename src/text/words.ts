/**
 * Words and repeated runs of them: shared by cleaning (the repetition rule), Q&A de-duplication
 * and the answer metrics of `kielo eval text`, which must count a loop the same way.
 */
/** Lowercased words: letters and digits, with an inner apostrophe (don't, l’homme). */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{M}\p{N}]*(?:['’]\p{L}[\p{L}\p{M}]*)*/gu) ?? [];
}

/** A character of a script written without spaces (Japanese, Chinese, Thai). */
export const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}]/u;

/**
 * The longest run of one word n-gram repeated back to back: returns the repeat count and the
 * words the run covers. Catches generation loops ("the cat sat. the cat sat. the cat sat. …").
 */
export function longestRepeatRun(text: string, maxN = 60): { repeats: number; runWords: number; unit: string } {
  // Scripts written without spaces (Japanese, Chinese, Thai): each character is a token, else a
  // whole sentence is one "word" and a loop of it looks short.
  const tokens = loopTokens(text);
  let best = { repeats: 1, runWords: 0, unit: "" };
  for (let n = 1; n <= Math.min(maxN, Math.floor(tokens.length / 2)); n++) {
    let i = 0;
    while (i + 2 * n <= tokens.length) {
      let repeats = 1;
      while (i + (repeats + 1) * n <= tokens.length && sameRun(tokens, i, i + repeats * n, n)) repeats += 1;
      if (repeats > 1 && repeats * n > best.runWords && repeats >= best.repeats) {
        best = { repeats, runWords: repeats * n, unit: tokens.slice(i, i + n).join(" ") };
      }
      i += repeats > 1 ? (repeats - 1) * n + 1 : 1;
    }
  }
  return best;
}

function sameRun(tokens: readonly string[], a: number, b: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (tokens[a + k] !== tokens[b + k]) return false;
  return true;
}

/**
 * The tokens a loop is counted in: words, and each letter of a script written without spaces
 * (its combining marks, Thai vowel and tone signs, left out: a loop's unit stays within maxN).
 */
export function loopTokens(text: string): string[] {
  return words(text).flatMap((word) => (UNSPACED.test(word) ? [...word].filter((ch) => !/\p{M}/u.test(ch)) : [word]));
}
