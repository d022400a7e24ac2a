/**
 * langdetect's n-gram layer (`utils/ngram.py` of langdetect 1.0.9): per-character normalisation,
 * Vietnamese normalisation, and the 1- to 3-gram extraction with ALL-CAPS words skipped.
 *
 * Python strings are sequences of code points, so everything here works on code points (a
 * character outside the BMP is one character, as in the reference), never on UTF-16 units.
 */
import { requireMessage, type Messages } from "./messages.ts";
import { lookupGram, type GramIndex } from "./gram-index.ts";
import { normalizedBlockOf } from "./unicode-blocks.ts";

export const N_GRAM = 3;
const SPACE = 0x20;

/** The character tables of `messages.properties` that normalisation needs. */
export interface NgramTables {
  /** `NGram.LATIN1_EXCLUDED`: Latin-1 characters that become a space. */
  latin1Excluded: ReadonlySet<number>;
  /** `NGram.CJK_MAP`: each kanji of a class → the class's first kanji. */
  cjkMap: ReadonlyMap<number, number>;
  /** `NGram.ALPHABET_WITH_DMARK`: a base letter followed by a combining mark. */
  alphabetWithDmark: RegExp;
  toNormalizeViChars: string;
  dmarkClass: string;
  /** `NORMALIZED_VI_CHARS[dmark][letter]`. */
  normalizedViChars: readonly string[];
}

const VI_TABLE_KEYS = ["0300", "0301", "0303", "0309", "0323"].map((mark) => `NORMALIZED_VI_CHARS_${mark}`);

export function buildNgramTables(messages: Messages): NgramTables {
  const cjkMap = new Map<number, number>();
  // The reference lists the 126 `NGram.KANJI_*` keys explicitly, in the file's own order; a later
  // class would win for a kanji listed twice (none is).
  for (const [key, kanji] of messages.values) {
    if (!/^NGram\.KANJI_\d+_\d+$/.test(key)) continue;
    const chars = Array.from(kanji, (ch) => ch.codePointAt(0) as number);
    const representative = chars[0];
    if (representative === undefined) continue;
    for (const ch of chars) cjkMap.set(ch, representative);
  }
  const toNormalizeViChars = requireMessage(messages, "TO_NORMALIZE_VI_CHARS");
  const dmarkClass = requireMessage(messages, "DMARK_CLASS");
  return {
    latin1Excluded: new Set(Array.from(requireMessage(messages, "NGram.LATIN1_EXCLUDE"), (ch) => ch.codePointAt(0) as number)),
    cjkMap,
    alphabetWithDmark: new RegExp(`([${escapeForClass(toNormalizeViChars)}])([${escapeForClass(dmarkClass)}])`, "gu"),
    toNormalizeViChars,
    dmarkClass,
    normalizedViChars: VI_TABLE_KEYS.map((key) => requireMessage(messages, key)),
  };
}

function escapeForClass(chars: string): string {
  return chars.replace(/[\\\]^[-]/g, (ch) => `\\${ch}`);
}

/** `NGram.normalize(ch)` on a code point. */
export function normalizeChar(ch: number, tables: NgramTables): number {
  switch (normalizedBlockOf(ch)) {
    case "BASIC_LATIN":
      return ch < 0x41 || (ch > 0x5a && ch < 0x61) || ch > 0x7a ? SPACE : ch;
    case "LATIN_1_SUPPLEMENT":
      return tables.latin1Excluded.has(ch) ? SPACE : ch;
    case "LATIN_EXTENDED_B":
      // Romanian: s and t with comma below → with cedilla, as in the profiles.
      if (ch === 0x0219) return 0x015f;
      if (ch === 0x021b) return 0x0163;
      return ch;
    case "GENERAL_PUNCTUATION":
      return SPACE;
    case "ARABIC":
      return ch === 0x06cc ? 0x064a : ch; // Farsi yeh → Arabic yeh
    case "LATIN_EXTENDED_ADDITIONAL":
      return ch >= 0x1ea0 ? 0x1ec3 : ch;
    case "HIRAGANA":
      return 0x3042;
    case "KATAKANA":
      return 0x30a2;
    case "BOPOMOFO":
    case "BOPOMOFO_EXTENDED":
      return 0x3105;
    case "CJK_UNIFIED_IDEOGRAPHS":
      return tables.cjkMap.get(ch) ?? ch;
    case "HANGUL_SYLLABLES":
      return 0xac00;
    case null:
      return ch;
  }
}

/** `NGram.normalize_vi(text)`: a Latin vowel + combining mark → the precomposed U+1Exx letter. */
export function normalizeVi(text: string, tables: NgramTables): string {
  return text.replace(tables.alphabetWithDmark, (_match, letter: string, mark: string) => {
    const row = tables.normalizedViChars[tables.dmarkClass.indexOf(mark)] as string;
    return row.charAt(tables.toNormalizeViChars.indexOf(letter));
  });
}

/**
 * Code points that JavaScript's `\p{Uppercase}` (Unicode 17 in Node 24) counts as upper case but
 * Python 3.11's `str.isupper` (Unicode 14.0) does not: letters assigned in Unicode 16 and 17.
 * Found by comparing every code point against the reference (test/eval/langid/ngram.test.ts).
 */
const UPPERCASE_AFTER_UNICODE_14: ReadonlyArray<readonly [number, number]> = [
  [0x1c89, 0x1c89],
  [0xa7cb, 0xa7cc],
  [0xa7ce, 0xa7ce],
  [0xa7d2, 0xa7d2],
  [0xa7d4, 0xa7d4],
  [0xa7da, 0xa7da],
  [0xa7dc, 0xa7dc],
  [0x10d50, 0x10d65],
  [0x16ea0, 0x16eb8],
];
const UPPERCASE = /^\p{Uppercase}$/u;

/** Python's `ch.isupper()` for one character (the `Uppercase` property, Unicode 14.0). */
export function isUpperPython(ch: number): boolean {
  if (ch < 0x80) return ch >= 0x41 && ch <= 0x5a;
  if (!UPPERCASE.test(String.fromCodePoint(ch))) return false;
  return !UPPERCASE_AFTER_UNICODE_14.some(([first, last]) => ch >= first && ch <= last);
}

/**
 * Per-character answers for the Basic Multilingual Plane, computed once from `normalizeChar` and
 * `isUpperPython`: extraction looks a character up instead of searching blocks and running a
 * Unicode-property regex for every character of every text (several times faster).
 */
export interface BmpLookup {
  normalized: Uint16Array;
  upper: Uint8Array;
}

export function buildBmpLookup(tables: NgramTables): BmpLookup {
  const normalized = new Uint16Array(0x10000);
  const upper = new Uint8Array(0x10000);
  for (let ch = 0; ch < 0x10000; ch++) {
    normalized[ch] = normalizeChar(ch, tables);
    upper[ch] = isUpperPython(ch) ? 1 : 0;
  }
  return { normalized, upper };
}

/**
 * `Detector._extract_ngrams`: feed each character through `NGram.add_char` and collect the rows of
 * the 1-, 2- and 3-grams ending at it that are in `index` (the reference: in the profiles), except
 * while inside a word of two or more upper-case letters.
 */
export function extractNgrams(text: readonly number[], tables: NgramTables, bmp: BmpLookup, index: GramIndex): number[] {
  const result: number[] = [];
  // `NGram.grams` holds the last up to three normalised characters and starts as a single space.
  // Kept as its length and its last two characters.
  let length = 1;
  let beforeLast = 0;
  let last = SPACE;
  let capitalword = false;
  for (const raw of text) {
    const ch = raw < 0x10000 ? (bmp.normalized[raw] as number) : normalizeChar(raw, tables);
    if (last === SPACE) {
      length = 1;
      capitalword = false;
      // add_char returns early; the only gram is " ", which is never kept.
      if (ch === SPACE) continue;
    }
    // Appending drops the oldest character once three are held (`grams[1:] + ch`), so a 3-gram
    // exists whenever two characters were held before.
    const hasTrigram = length >= 2;
    if (length < 3) length++;
    const upper = ch < 0x10000 ? bmp.upper[ch] === 1 : isUpperPython(ch);
    if (upper) {
      if (last < 0x10000 ? bmp.upper[last] === 1 : isUpperPython(last)) capitalword = true;
    } else {
      capitalword = false;
    }
    const oldest = beforeLast;
    const previous = last;
    beforeLast = previous;
    last = ch;
    if (capitalword) continue;
    if (ch !== SPACE) {
      const row = lookupGram(index, 1, 0, 0, ch);
      if (row !== undefined) result.push(row);
    }
    const row2 = lookupGram(index, 2, 0, previous, ch);
    if (row2 !== undefined) result.push(row2);
    if (hasTrigram) {
      const row3 = lookupGram(index, 3, oldest, previous, ch);
      if (row3 !== undefined) result.push(row3);
    }
  }
  return result;
}
