/**
 * textstat's syllable-based counts (0.7.13 `counts/_count_syllables`, `_count_polysyllable_words`,
 * `_count_monosyllable_words`, `selections/_list_difficult_words`, `validations/_is_difficult_word`)
 * for one language setting: English words by the CMU dictionary, everything else by Pyphen.
 */
import { easyWordsFor } from "./easy-words.ts";
import { cmuSyllables } from "./cmudict.ts";
import { Pyphen } from "./pyphen.ts";
import { listWords } from "./words.ts";

/** textstat's `get_lang_root`: the part before the first `_`. */
export function langRoot(lang: string): string {
  return lang.includes("_") ? lang.split("_")[0]! : lang;
}

export class SyllableCounter {
  private readonly useCmu: boolean;
  private readonly pyphen: Pyphen;
  private readonly easyWords: ReadonlySet<string>;
  private readonly cache = new Map<string, number>();

  constructor(lang: string) {
    this.useCmu = langRoot(lang) === "en";
    this.pyphen = new Pyphen(lang);
    this.easyWords = easyWordsFor(langRoot(lang));
  }

  /** `count_syllables(text, lang)`. */
  count(text: string): number {
    if (!text) return 0;
    const cached = this.cache.get(text);
    if (cached !== undefined) return cached;
    let count = 0;
    for (const word of listWords(text, { lowercase: true })) {
      const cmu = this.useCmu ? cmuSyllables(word) : undefined;
      count += cmu ?? this.pyphen.positions(word).length + 1;
    }
    // Words repeat across a text and across texts; whole texts do not.
    if (text.length <= 64) this.cache.set(text, count);
    return count;
  }

  /** `is_difficult_word(word, syllable_threshold, lang)`. */
  isDifficult(word: string, threshold: number): boolean {
    const lower = word.toLowerCase();
    if (this.easyWords.has(lower)) return false;
    return this.count(lower) >= threshold;
  }

  /** `list_difficult_words(text, syllable_threshold, lang)`. */
  difficultWords(words: readonly string[], threshold: number): string[] {
    return words.filter((word) => this.isDifficult(word, threshold));
  }
}
