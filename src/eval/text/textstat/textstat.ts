/**
 * The reference notebook's `text_quality` block: the readability scores and counts of the Python
 * `textstat` package 0.7.13, field for field (LangKit's names: `aggregate_reading_level` is
 * `text_standard(float_output=True)`, `character_count` is `char_count`, `polysyllable_count` and
 * `monosyllable_count` are `polysyllabcount` and `monosyllabcount`).
 *
 * Ported, not taken from npm: `text-readability` (1.1.1), `readability-scores` (1.0.8) and
 * `syllable` (5.0.1) were measured against textstat on the shared test answers and disagree on
 * most of them (other sentence splitting, another syllable estimator, no CMU dictionary, no
 * per-language settings; see docs/text-metrics.md). Each formula below is textstat's, with its
 * operations in the same order so that the floating-point results are the same; counts are
 * computed once per text (textstat recomputes them through caches, which changes no value).
 * Checked against the Python package in test/eval/text/textstat.test.ts.
 */
import { countArabicLongWords, countArabicSyllables, countComplexArabicWords, countFaseeh } from "./arabic.ts";
import { langRoot, SyllableCounter } from "./syllables.ts";
import { countChars, countLetters, countSentences, countWords, listWords, removePunctuation } from "./words.ts";
import { pySplit } from "../../../text/python-str.ts";
import { pyRound } from "../../../text/python-round.ts";

export const TEXTSTAT_VERSION = "0.7.13";

/** The fields, in the notebook's order. */
export const TEXT_QUALITY_FIELDS = [
  "automated_readability_index",
  "dale_chall_readability_score",
  "linsear_write_formula",
  "gunning_fog",
  "aggregate_reading_level",
  "fernandez_huerta",
  "szigriszt_pazos",
  "gutierrez_polini",
  "crawford",
  "gulpease_index",
  "osman",
  "flesch_kincaid_grade",
  "flesch_reading_ease",
  "smog_index",
  "coleman_liau_index",
  "sentence_count",
  "character_count",
  "letter_count",
  "polysyllable_count",
  "monosyllable_count",
  "difficult_words",
  "syllable_count",
  "lexicon_count",
] as const;

export type TextQualityField = (typeof TEXT_QUALITY_FIELDS)[number];
export type TextQuality = Record<TextQualityField, number>;

/** textstat's per-language settings (`LANG_CONFIGS`); a missing key falls back to English's. */
const LANG_CONFIGS: Record<string, Partial<Record<"fre_base" | "fre_sentence_length" | "fre_syll_per_word" | "syllable_threshold", number>>> = {
  en: { fre_base: 206.835, fre_sentence_length: 1.015, fre_syll_per_word: 84.6, syllable_threshold: 3 },
  de: { fre_base: 180, fre_sentence_length: 1, fre_syll_per_word: 58.5 },
  es: { fre_base: 206.84, fre_sentence_length: 1.02, fre_syll_per_word: 60.0 },
  fr: { fre_base: 207, fre_sentence_length: 1.015, fre_syll_per_word: 73.6 },
  it: { fre_base: 217, fre_sentence_length: 1.3, fre_syll_per_word: 60.0 },
  nl: { fre_base: 206.835, fre_sentence_length: 0.93, fre_syll_per_word: 77 },
  pl: { syllable_threshold: 4 },
  ru: { fre_base: 206.835, fre_sentence_length: 1.3, fre_syll_per_word: 60.1 },
  hu: { fre_base: 206.835, fre_sentence_length: 1.015, fre_syll_per_word: 58.5, syllable_threshold: 5 },
};

function langConfig(lang: string, key: keyof (typeof LANG_CONFIGS)["en"]): number {
  return LANG_CONFIGS[langRoot(lang)]?.[key] ?? LANG_CONFIGS["en"]![key]!;
}

/** a / b, or `fallback` where Python would raise ZeroDivisionError. */
function div(a: number, b: number, fallback = 0): number {
  return b === 0 ? fallback : a / b;
}

/** textstat, set to one language (`textstat.set_lang(lang)`; default `en_US`). */
export class Textstat {
  readonly lang: string;
  private readonly syllables: SyllableCounter;

  constructor(lang = "en_US") {
    this.lang = lang;
    this.syllables = new SyllableCounter(lang);
  }

  /** Every field of the `text_quality` block for one text. */
  textQuality(text: string): TextQuality {
    const words = listWords(text);
    const nWords = words.length;
    const nSentences = countSentences(text);
    const nSyllables = this.syllables.count(text);
    const nChars = countChars(text);
    const nLetters = countLetters(text);
    const nTokens = pySplit(text).length; // count_words(text, rm_punctuation=False)
    const wordSyllables = words.map((word) => this.syllables.count(word));

    const wordsPerSentence = div(nWords, nSentences);
    const syllablesPerWord = div(nSyllables, nWords);
    const charsPerWord = div(nChars, nTokens);
    const lettersPerWord = div(nLetters, nWords);
    const sentencesPerWord = div(nSentences, nWords);
    const polysyllables = wordSyllables.filter((n) => n >= 3).length;

    const fkGrade = wordsPerSentence === 0 || syllablesPerWord === 0 ? 0 : 0.39 * wordsPerSentence + 11.8 * syllablesPerWord - 15.59;
    const fre =
      wordsPerSentence === 0 || syllablesPerWord === 0
        ? 0
        : langConfig(this.lang, "fre_base") -
          langConfig(this.lang, "fre_sentence_length") * wordsPerSentence -
          langConfig(this.lang, "fre_syll_per_word") * syllablesPerWord;
    const smog = nSentences === 0 ? 0 : 1.043 * Math.sqrt(30 * (polysyllables / nSentences)) + 3.1291;
    const letters100 = lettersPerWord * 100;
    const sentences100 = sentencesPerWord * 100;
    const coleman = letters100 === 0 || sentences100 === 0 ? 0 : 0.058 * letters100 - 0.296 * sentences100 - 15.8;
    const ari = charsPerWord === 0 || wordsPerSentence === 0 ? 0 : 4.71 * charsPerWord + 0.5 * wordsPerSentence - 21.43;
    const daleChall = this.daleChall(words, nWords, wordsPerSentence);
    const linsear = this.linsearWrite(text);
    const fog = this.gunningFog(words, nWords, wordsPerSentence);

    return {
      automated_readability_index: ari,
      dale_chall_readability_score: daleChall,
      linsear_write_formula: linsear,
      gunning_fog: fog,
      aggregate_reading_level: textStandard({ fkGrade, fre, smog, coleman, ari, daleChall, linsear, fog }),
      fernandez_huerta: wordsPerSentence === 0 || syllablesPerWord === 0 ? 0 : 206.84 - 60 * syllablesPerWord - 1.02 * wordsPerSentence,
      szigriszt_pazos:
        nWords === 0 || nSentences === 0 ? 0 : langConfig(this.lang, "fre_base") - 62.3 * (nSyllables / nWords) - nWords / nSentences,
      gutierrez_polini: lettersPerWord === 0 || wordsPerSentence === 0 ? 0 : 95.2 - 9.7 * lettersPerWord - 0.35 * wordsPerSentence,
      crawford: this.crawford(sentencesPerWord, syllablesPerWord),
      gulpease_index: sentencesPerWord === 0 || charsPerWord === 0 ? 0 : 300 * sentencesPerWord - 10 * charsPerWord + 89,
      osman: osman(text, nWords, wordsPerSentence),
      flesch_kincaid_grade: fkGrade,
      flesch_reading_ease: fre,
      smog_index: smog,
      coleman_liau_index: coleman,
      sentence_count: nSentences,
      character_count: nChars,
      letter_count: nLetters,
      polysyllable_count: polysyllables,
      monosyllable_count: wordSyllables.filter((n) => n === 1).length,
      // textstat.difficult_words: unique words (as written) of 2+ syllables not in the easy list.
      difficult_words: new Set(this.syllables.difficultWords(words, 2)).size,
      syllable_count: nSyllables,
      lexicon_count: nWords,
    };
  }

  private daleChall(words: readonly string[], nWords: number, wordsPerSentence: number): number {
    if (nWords === 0) return 0;
    // Every word not in the easy list counts (threshold 0, not unique).
    const perDifficult = (100 * this.syllables.difficultWords(words, 0).length) / nWords;
    let score = 0.1579 * perDifficult + 0.0496 * wordsPerSentence;
    if (perDifficult > 5) score += 3.6365;
    return score;
  }

  private gunningFog(words: readonly string[], nWords: number, wordsPerSentence: number): number {
    if (nWords === 0) return 0;
    const threshold = Math.trunc(langConfig(this.lang, "syllable_threshold"));
    const perDifficult = (100 * this.syllables.difficultWords(words, threshold).length) / nWords;
    return 0.4 * (wordsPerSentence + perDifficult);
  }

  private crawford(sentencesPerWord: number, syllablesPerWord: number): number {
    const sentences100 = 100 * sentencesPerWord;
    const syllables100 = 100 * syllablesPerWord;
    if (sentences100 === 0 || syllables100 === 0) return 0;
    return -0.205 * sentences100 + 0.049 * syllables100 - 3.407;
  }

  /** `linsear_write_formula(text, strict_lower=False, strict_upper=True)`: the first 100 words. */
  private linsearWrite(text: string): number {
    const tokens = pySplit(text);
    let words: string[] = [];
    let used = 0;
    if (tokens.length > 100) {
      while (used < tokens.length && words.length < 100) {
        const word = removePunctuation(tokens[used]!, false);
        used += 1;
        if (word.length > 0) words.push(word);
      }
    } else {
      words = listWords(text);
      used = tokens.length;
    }
    let easy = 0;
    let difficult = 0;
    for (const word of words) {
      const n = this.syllables.count(word);
      if (n >= 3) difficult += 1;
      else if (n > 0) easy += 1;
    }
    const sentences = countSentences(tokens.slice(0, used).join(" "));
    if (sentences === 0) return 0;
    let number = (easy * 1 + difficult * 3) / sentences;
    if (number <= 20) number -= 2;
    return number / 2;
  }
}

interface Scores {
  fkGrade: number;
  fre: number;
  smog: number;
  coleman: number;
  ari: number;
  daleChall: number;
  linsear: number;
  fog: number;
}

/** `text_standard(text, float_output=True)`: the most common grade among the eight formulas' floor, ceiling and rounding. */
function textStandard(s: Scores): number {
  const grades: number[] = [];
  const around = (score: number) => grades.push(Math.floor(score), Math.ceil(score), pyRound(score));
  around(s.fkGrade);
  const fre = s.fre;
  if (fre < 100 && fre >= 90) grades.push(5);
  else if (fre < 90 && fre >= 80) grades.push(6);
  else if (fre < 80 && fre >= 70) grades.push(7);
  else if (fre < 70 && fre >= 60) grades.push(8, 9);
  else if (fre < 60 && fre >= 50) grades.push(10);
  else if (fre < 50 && fre >= 40) grades.push(11);
  else if (fre < 40 && fre >= 30) grades.push(12);
  else grades.push(13);
  for (const score of [s.smog, s.coleman, s.ari, s.daleChall, s.linsear, s.fog]) around(score);
  // Counter.most_common(1): the highest count, the first seen among equals.
  const counts = new Map<number, number>();
  for (const grade of grades) counts.set(grade, (counts.get(grade) ?? 0) + 1);
  let best = grades[0]!;
  for (const [grade, count] of counts) if (count > counts.get(best)!) best = grade;
  // textstat clamps the consensus to grades 1–18.
  return Math.max(1, Math.min(best, 18));
}

function osman(text: string, nWords: number, wordsPerSentence: number): number {
  if (nWords === 0) return 0;
  const complexWordRate = countComplexArabicWords(text) / nWords;
  const longWordRate = countArabicLongWords(text) / nWords;
  const syllablesPerWord = countArabicSyllables(text) / nWords;
  const faseehPerWord = countFaseeh(text) / nWords;
  return 200.791 - 1.015 * wordsPerSentence - 24.181 * (complexWordRate + syllablesPerWord + faseehPerWord + longWordRate);
}

/** `countWords` under its textstat name, for callers that want only the word count. */
export { countWords as lexiconCount };
