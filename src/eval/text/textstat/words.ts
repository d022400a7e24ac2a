/**
 * textstat's word and sentence primitives (textstat 0.7.13 `backend/transformations`,
 * `selections/_list_words`, `counts/_count_{chars,letters,words,sentences}`), with Python's
 * Unicode `\w`, `\s`, `\b` and `str.split()` (src/text/python-str.ts) and lengths in code points.
 */
import { codePointLength, PY_SPACE_CLASS_BODY, PY_WORD_BOUNDARY, PY_WORD_CLASS_BODY, pySplit } from "../../../text/python-str.ts";

const ALL_PUNCTUATION = new RegExp(`[^${PY_WORD_CLASS_BODY}${PY_SPACE_CLASS_BODY}]`, "gu");
const PUNCTUATION_BUT_APOSTROPHE = new RegExp(`[^${PY_WORD_CLASS_BODY}${PY_SPACE_CLASS_BODY}']`, "gu");
/** An apostrophe that does not start a common English contraction ending (`'t`, `'s`, `'ve` …). */
const NONCONTRACTION_APOSTROPHE = /'(?![tsd]|ve|ll|re)/gu;
const WHITESPACE = new RegExp(`[${PY_SPACE_CLASS_BODY}]`, "gu");
const SENTENCE = new RegExp(`${PY_WORD_BOUNDARY}[^.!?]+[.!?]*`, "gu");

/** `remove_punctuation(text, rm_apostrophe)`. */
export function removePunctuation(text: string, rmApostrophe: boolean): string {
  if (rmApostrophe) return text.replace(ALL_PUNCTUATION, "");
  return text.replace(NONCONTRACTION_APOSTROPHE, "").replace(PUNCTUATION_BUT_APOSTROPHE, "");
}

export interface ListWordsOptions {
  rmPunctuation?: boolean;
  rmApostrophe?: boolean;
  lowercase?: boolean;
}

/** `list_words(text, rm_punctuation=True, rm_apostrophe=False, lowercase=False)`. */
export function listWords(text: string, options: ListWordsOptions = {}): string[] {
  let out = text;
  if (options.rmPunctuation ?? true) out = removePunctuation(out, options.rmApostrophe ?? false);
  if (options.lowercase) out = out.toLowerCase();
  return pySplit(out);
}

/** `count_words(text, rm_punctuation)` (textstat's `lexicon_count`). */
export function countWords(text: string, rmPunctuation = true): number {
  return listWords(text, { rmPunctuation }).length;
}

/** `count_chars(text, ignore_spaces=True)`. */
export function countChars(text: string): number {
  return codePointLength(text.replace(WHITESPACE, ""));
}

/** `count_letters(text)`: characters that are neither whitespace nor punctuation. */
export function countLetters(text: string): number {
  return codePointLength(removePunctuation(text.replace(WHITESPACE, ""), true));
}

/** `count_sentences(text)`: runs up to `.!?`, not counting those of two words or fewer; at least 1. */
export function countSentences(text: string): number {
  if (text.length === 0) return 0;
  let sentences = 0;
  let ignored = 0;
  for (const match of text.matchAll(SENTENCE)) {
    sentences += 1;
    if (countWords(match[0]) <= 2) ignored += 1;
  }
  return Math.max(1, sentences - ignored);
}
