/**
 * textstat's Arabic counts, used by the Osman index (0.7.13 `counts/_count_{complex_arabic_words,
 * arabic_long_words,arabic_syllables,faseeh}`). Ported as they are: they run on `list_words`
 * output, from which the tashkeel marks are already gone (they are not `\w`), so for most text
 * the syllable count falls back to the character count.
 */
import { codePointLength, PY_SPACE_CLASS_BODY } from "../../../text/python-str.ts";
import { listWords } from "./words.ts";

const TASHKEEL_ALL = /[\u064E\u064B\u064F\u064C\u0650\u064D\u0651\u0652\u0653\u0657\u0658]/gu;
const COMPLEX_MARKS = /[\u064e\u064b\u064f\u064c\u0650\u064d\u0651]/gu;
const SHORT_VOWELS = ["\u064E", "\u064F", "\u0650"];
const LONG_AFTER = new Set(["\u0627", "\u0648", "\u064a"]);
const STRESS = /[\u064B\u064C\u064D\u0651]/gu;
const NOT_SYLLABLE = new RegExp(`[\\u0627\\u0649?.!,${PY_SPACE_CLASS_BODY}*]`, "gu");
const FASEEH_SINGLE = /[\u0626\u0621\u0624\u0630\u0638]/gu;
const FASEEH_DOUBLE = /(\u0648\u0627|\u0648\u0646)/gu;

function arabicWords(text: string): string[] {
  return listWords(text, { rmApostrophe: true });
}

function countMatches(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

export function countComplexArabicWords(text: string): number {
  return arabicWords(text).filter((word) => countMatches(word, COMPLEX_MARKS) > 5).length;
}

export function countArabicLongWords(text: string): number {
  return arabicWords(text.replace(TASHKEEL_ALL, "")).filter((word) => codePointLength(word) > 5).length;
}

export function countArabicSyllables(text: string): number {
  let short = 0;
  let long = 0;
  const chars = arabicWords(text).flatMap((word) => [...word]);
  for (const vowel of SHORT_VOWELS) {
    chars.forEach((c, i) => {
      if (c !== vowel) return;
      if (i + 1 < chars.length && LONG_AFTER.has(chars[i + 1]!)) long += 1;
      else short += 1;
    });
  }
  const stress = countMatches(text, STRESS);
  if (short === 0) short = codePointLength(text.replace(NOT_SYLLABLE, "")) - 2;
  return short + 2 * (long + stress);
}

export function countFaseeh(text: string): number {
  let count = 0;
  for (const word of arabicWords(text)) {
    const faseeh = countMatches(word, FASEEH_SINGLE) + countMatches(word, FASEEH_DOUBLE);
    if (faseeh > 0 && countArabicSyllables(word) > 5) count += 1;
  }
  return count;
}
