/**
 * Where each known n-gram sits in langdetect's probability table, looked up by code points.
 *
 * The reference looks up every 1-, 2- and 3-gram of a text in a dict keyed by strings. Building and
 * hashing a string per gram, or using a JS `Map` keyed by a 48-bit number (a heap number), was the
 * largest cost of a detection. Here a 1-gram indexes an array and 2-/3-grams of BMP characters
 * live in a small open-addressing hash table over two 32-bit words — our own because JavaScript
 * has no map keyed by integer pairs. Grams with a character beyond the BMP (none in the shipped
 * profiles) fall back to a string map.
 */

export interface GramIndex {
  /** The row of each BMP character as a 1-gram, or -1. */
  unigrams: Int32Array;
  /** 2- and 3-grams of BMP characters. */
  bmpGrams: PairTable;
  /** Grams with a character outside the BMP, or of another length. */
  otherGrams: ReadonlyMap<string, number>;
}

/** Open addressing with linear probing; capacity a power of two, at most half full. */
interface PairTable {
  mask: number;
  high: Uint32Array;
  low: Uint32Array;
  /** Row, or -1 for an empty slot. */
  rows: Int32Array;
}

function slotOf(table: PairTable, high: number, low: number): number {
  let hash = Math.imul(low ^ Math.imul(high, 0x85ebca6b), 0x9e3779b1);
  hash ^= hash >>> 15;
  let slot = hash & table.mask;
  while (table.rows[slot] !== -1 && (table.high[slot] !== high || table.low[slot] !== low)) slot = (slot + 1) & table.mask;
  return slot;
}

/** The key of a 2-gram (`a` = 0) or 3-gram `a b c` of BMP characters, as two 32-bit words. */
function keyHigh(length: 2 | 3, a: number): number {
  return ((length << 16) | a) >>> 0;
}
function keyLow(b: number, c: number): number {
  return ((b << 16) | c) >>> 0;
}

/** An index over `words`, where `words[row]` is the gram of that row. */
export function buildGramIndex(words: readonly string[]): GramIndex {
  const unigrams = new Int32Array(0x10000).fill(-1);
  const otherGrams = new Map<string, number>();
  const pairs: Array<[number, number, number]> = [];
  words.forEach((word, row) => {
    // Profile grams are BMP-only, so UTF-16 units are code points unless a surrogate shows up.
    const length = word.length;
    if (length < 1 || length > 3 || /[\ud800-\udfff]/.test(word)) {
      otherGrams.set(word, row);
    } else if (length === 1) {
      unigrams[word.charCodeAt(0)] = row;
    } else if (length === 2) {
      pairs.push([keyHigh(2, 0), keyLow(word.charCodeAt(0), word.charCodeAt(1)), row]);
    } else {
      pairs.push([keyHigh(3, word.charCodeAt(0)), keyLow(word.charCodeAt(1), word.charCodeAt(2)), row]);
    }
  });
  let capacity = 16;
  while (capacity < pairs.length * 2) capacity *= 2;
  const table: PairTable = { mask: capacity - 1, high: new Uint32Array(capacity), low: new Uint32Array(capacity), rows: new Int32Array(capacity).fill(-1) };
  for (const [high, low, row] of pairs) {
    const slot = slotOf(table, high, low);
    table.high[slot] = high;
    table.low[slot] = low;
    table.rows[slot] = row;
  }
  return { unigrams, bmpGrams: table, otherGrams };
}

/** The row of the gram of the last `length` of `a b c` (0 for unused positions), or undefined. */
export function lookupGram(index: GramIndex, length: 1 | 2 | 3, a: number, b: number, c: number): number | undefined {
  if (a > 0xffff || b > 0xffff || c > 0xffff) {
    if (index.otherGrams.size === 0) return undefined;
    const gram = length === 1 ? String.fromCodePoint(c) : length === 2 ? String.fromCodePoint(b, c) : String.fromCodePoint(a, b, c);
    return index.otherGrams.get(gram);
  }
  if (length === 1) {
    const row = index.unigrams[c] as number;
    return row < 0 ? undefined : row;
  }
  const table = index.bmpGrams;
  const row = table.rows[slotOf(table, keyHigh(length, length === 3 ? a : 0), keyLow(b, c))] as number;
  return row < 0 ? undefined : row;
}

/** The row of `gram` (a string of 1 to 3 characters), or undefined. */
export function findGram(index: GramIndex, gram: string): number | undefined {
  const cps = Array.from(gram, (ch) => ch.codePointAt(0) as number);
  if (cps.length < 1 || cps.length > 3) return index.otherGrams.get(gram);
  const [a, b, c] = cps.length === 3 ? cps : cps.length === 2 ? [0, ...cps] : [0, 0, ...cps];
  return lookupGram(index, cps.length as 1 | 2 | 3, a as number, b as number, c as number);
}
