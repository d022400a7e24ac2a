/**
 * The Unicode blocks that langdetect's character normalisation looks at.
 *
 * langdetect 1.0.9 (`utils/unicode_block.py`) carries a table of 220 non-overlapping blocks and
 * finds a character's block by binary search. `NGram.normalize` only ever compares the result with
 * the twelve blocks below, and `Detector.cleaning_text` compares it with a *string* (a bug in the
 * reference that makes the comparison always unequal), so the block of any other character never
 * changes a result. Because the blocks do not overlap, testing these twelve ranges directly gives
 * the same answer as the reference's search. The ranges are copied from the reference table.
 */

export type NormalizedBlock =
  | "BASIC_LATIN"
  | "LATIN_1_SUPPLEMENT"
  | "LATIN_EXTENDED_B"
  | "ARABIC"
  | "LATIN_EXTENDED_ADDITIONAL"
  | "GENERAL_PUNCTUATION"
  | "HIRAGANA"
  | "KATAKANA"
  | "BOPOMOFO"
  | "BOPOMOFO_EXTENDED"
  | "CJK_UNIFIED_IDEOGRAPHS"
  | "HANGUL_SYLLABLES";

/** `[block, first, last]`, sorted by code point, as in `_unicode_blocks`. */
const BLOCKS: ReadonlyArray<readonly [NormalizedBlock, number, number]> = [
  ["BASIC_LATIN", 0x0000, 0x007f],
  ["LATIN_1_SUPPLEMENT", 0x0080, 0x00ff],
  ["LATIN_EXTENDED_B", 0x0180, 0x024f],
  ["ARABIC", 0x0600, 0x06ff],
  ["LATIN_EXTENDED_ADDITIONAL", 0x1e00, 0x1eff],
  ["GENERAL_PUNCTUATION", 0x2000, 0x206f],
  ["HIRAGANA", 0x3040, 0x309f],
  ["KATAKANA", 0x30a0, 0x30ff],
  ["BOPOMOFO", 0x3100, 0x312f],
  ["BOPOMOFO_EXTENDED", 0x31a0, 0x31bf],
  ["CJK_UNIFIED_IDEOGRAPHS", 0x4e00, 0x9fff],
  ["HANGUL_SYLLABLES", 0xac00, 0xd7af],
];

/** The block of `codePoint` if it is one of the twelve above, otherwise null. */
export function normalizedBlockOf(codePoint: number): NormalizedBlock | null {
  if (codePoint > 0xd7af) return null;
  for (const [block, first, last] of BLOCKS) {
    if (codePoint < first) return null;
    if (codePoint <= last) return block;
  }
  return null;
}
