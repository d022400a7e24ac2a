/**
 * How a text of this file ends, learned from the file itself: a translation cut short ends where
 * its words or characters go on, not where the language closes a message. Verb-final languages
 * close on a few forms (Japanese ます/です/した/ません, Hindi है/हैं/करें/सका), others on a final
 * mark; the inside of a text ends a word or a character on anything. No list per language: over
 * the (source, target) pairs of one language pair, the last two characters of every target are
 * counted against the last two characters before each place a text could be cut inside it — each
 * word's end, and each character of a script written without spaces (Japanese, Chinese, Thai).
 *
 * Endings are counted apart for sources that end on a mark (a sentence, "Open file:") and sources
 * that do not (a label, a title): "Maailman paras rantaloma" for "Best beach vacation in the world"
 * ends the way the file's labels end, though its sentences end on a full stop.
 *
 * The odds of an ending are log P(it | a cut inside a text) − log P(it | the end of a text whose
 * source ends as this one does). The last character is smoothed toward how often it occurs in the
 * file's text, the one before it toward both distributions together, so that a rare ending says
 * little either way. The few broken rows of a file barely move these counts, and a text the model
 * learned from is judged against the others (its own ending would vouch for itself).
 */

const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;
/** A source that ends on a mark: a sentence terminal of any script, or a colon or semicolon, closing quotes or brackets after it allowed. */
const MARKED = /(?:\p{Sentence_Terminal}|[:;：；…])["'”’»」』)）\]]*$/u;

/** Pseudo-counts of the smoothing: of the character's overall frequency, and of the shared pair share. */
const BACKGROUND_WEIGHT = 4;
const BACKOFF_WEIGHT = 4;

export interface EndingModel {
  /** Targets learned from. */
  texts: number;
  /**
   * log P(ending | cut inside a text) − log P(ending | end of a text whose source ends alike) of
   * the target's last two characters; 0 for an empty target. learnedFrom: the pair is one of those
   * the model learned from.
   */
  cutOdds(source: string, target: string, learnedFrom: boolean): number;
  /**
   * A longer word the target may have been cut from: its last word (a run of katakana) never
   * stands whole in the file's other translations, but begins words that do ("ファイ" of ファイル,
   * "デフ" of デフォルト). undefined otherwise.
   */
  unfinishedWord(target: string, learnedFrom: boolean): string | undefined;
}

/**
 * Words as a cut can stop inside them: runs of katakana (loanwords, written without spaces but as
 * whole words). Not Han or hiragana, where a shorter run is as whole a word (a stem without its
 * inflection, a particle), nor words of scripts written with spaces: in an inflecting language a
 * stem seldom stands alone ("Muisti loppu" for "Out of memory": "loppu" begins loppuun, loppui).
 */
const WORD = /[\p{Script=Katakana}ー]+/gu;
function wordsOf(text: string): string[] {
  return text.match(WORD) ?? [];
}

/** Digits as one character: "3" and "7" end a text alike. */
function characters(text: string): string[] {
  return [...text.trimEnd().replace(/\p{Nd}/gu, "0")];
}

/** The places inside a text where a cut could fall: each end of a word, and between two characters of an unspaced script. */
export function cutPlaces(text: string): number[] {
  const chars = characters(text);
  const places: number[] = [];
  for (let i = 1; i < chars.length; i++) {
    const before = chars[i - 1]!;
    const at = chars[i]!;
    if (/\s/u.test(before)) continue;
    if (/\s/u.test(at) || (UNSPACED.test(before) && UNSPACED.test(at))) places.push(i);
  }
  return places;
}

interface Ending {
  one: string;
  two: string;
}

function endingAt(chars: readonly string[], end: number): Ending {
  return { one: chars[end - 1]!, two: chars.slice(Math.max(0, end - 2), end).join("") };
}

class Counts {
  one = new Map<string, number>();
  two = new Map<string, number>();
  total = 0;
  add(ending: Ending, weight: number): void {
    this.one.set(ending.one, (this.one.get(ending.one) ?? 0) + weight);
    this.two.set(ending.two, (this.two.get(ending.two) ?? 0) + weight);
    this.total += weight;
  }
}

/** Learn the ending odds from the (source, target) pairs of one language pair; undefined with fewer than minTexts. */
export function learnEndings(pairs: Iterable<{ source: string; target: string }>, minTexts: number): EndingModel | undefined {
  const ends = { marked: new Counts(), open: new Counts() };
  const cuts = new Counts();
  const background = new Map<string, number>();
  let texts = 0;
  let characterCount = 0;
  // Whole words of the file's translations (sorted below, to find the longer words a prefix begins).
  const whole = new Map<string, number>();
  for (const { source, target } of pairs) {
    const chars = characters(target);
    if (chars.length === 0) continue;
    texts += 1;
    for (const word of wordsOf(target)) whole.set(word, (whole.get(word) ?? 0) + 1);
    for (const char of chars) background.set(char, (background.get(char) ?? 0) + 1);
    characterCount += chars.length;
    ends[MARKED.test(source.trimEnd()) ? "marked" : "open"].add(endingAt(chars, chars.length), 1);
    // Each text weighs one among the cuts, as among the endings: a cut falls somewhere in one
    // text, not in proportion to its length.
    const places = cutPlaces(target);
    for (const place of places) cuts.add(endingAt(chars, place), 1 / places.length);
  }
  if (texts < minTexts) return undefined;
  const sorted = [...whole.keys()].sort();
  const all = (map: "one" | "two", key: string) => (ends.marked[map].get(key) ?? 0) + (ends.open[map].get(key) ?? 0) + (cuts[map].get(key) ?? 0);
  /** P(the last two characters) from counts of one distribution: P(last one) · P(the one before | last one). */
  const probability = (one: number, two: number, total: number, ending: Ending) => {
    const frequency = ((background.get(ending.one) ?? 0) + 1) / (characterCount + background.size + 1);
    const pOne = (one + BACKGROUND_WEIGHT * frequency) / (total + BACKGROUND_WEIGHT);
    if (ending.two === ending.one) return pOne;
    const shared = (all("two", ending.two) + 0.5) / (all("one", ending.one) + 1);
    return (pOne * (two + BACKOFF_WEIGHT * shared)) / (one + BACKOFF_WEIGHT);
  };
  return {
    texts,
    cutOdds(source, target, learnedFrom) {
      const chars = characters(target);
      if (chars.length === 0) return 0;
      const ending = endingAt(chars, chars.length);
      const own = learnedFrom ? 1 : 0;
      const end = ends[MARKED.test(source.trimEnd()) ? "marked" : "open"];
      const pEnd = probability(
        Math.max(0, (end.one.get(ending.one) ?? 0) - own),
        Math.max(0, (end.two.get(ending.two) ?? 0) - own),
        Math.max(0, end.total - own),
        ending,
      );
      const pCut = probability(cuts.one.get(ending.one) ?? 0, cuts.two.get(ending.two) ?? 0, cuts.total, ending);
      return Math.log(pCut / pEnd);
    },
    unfinishedWord(target, learnedFrom) {
      const end = target.trimEnd();
      const words = wordsOf(end);
      const last = words.at(-1);
      if (last === undefined || !end.endsWith(last)) return undefined;
      // The target's own words are not evidence about it when it was learned from.
      const own = learnedFrom ? words.filter((word) => word === last).length : 0;
      if ((whole.get(last) ?? 0) - own > 0) return undefined;
      let low = 0;
      let high = sorted.length;
      while (low < high) {
        const mid = (low + high) >> 1;
        if (sorted[mid]! <= last) low = mid + 1;
        else high = mid;
      }
      const longer = sorted[low];
      return longer !== undefined && longer.startsWith(last) ? longer : undefined;
    },
  };
}
