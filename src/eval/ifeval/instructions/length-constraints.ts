/** `length_constraints:*` — sentences, `***` paragraphs, words, and the first word of paragraph n. */
import { z } from "zod";
import { pyLstrip, pySplit, pyStrip } from "../../../text/python-str.ts";
import { sentTokenize } from "../../nltk/punkt.ts";
import { PythonRegex } from "../python-regex.ts";
import { Count, NonEmptyString, Relation, compare, defineInstruction } from "./types.ts";

/** NumberOfSentences: the number of NLTK Punkt (English) sentences vs the threshold. */
export const numberSentences = defineInstruction(
  z.strictObject({ num_sentences: Count, relation: Relation }),
  ({ num_sentences, relation }) =>
    (v) =>
      compare(sentTokenize(v).length, relation, num_sentences),
);

const PARAGRAPH_DIVIDER = new PythonRegex(String.raw`\s?\*\*\*\s?`);

/**
 * ParagraphChecker: split on `***` (one optional whitespace each side); blank pieces are only
 * allowed first or last (and then not counted); the count must be *exactly* num_paragraphs.
 */
export const numberParagraphs = defineInstruction(z.strictObject({ num_paragraphs: Count }), ({ num_paragraphs }) => {
  return (v) => {
    const parts = PARAGRAPH_DIVIDER.split(v);
    let n = parts.length;
    for (let i = 0; i < parts.length; i++) {
      if (pyStrip(parts[i]!) !== "") continue;
      if (i === 0 || i === parts.length - 1) n -= 1;
      else return false;
    }
    return n === num_paragraphs;
  };
});

const WORD = new PythonRegex(String.raw`\w+`);

/** `count_words`: nltk `RegexpTokenizer(r"\w+")`, i.e. `len(re.findall(r"\w+", v))`, Unicode `\w`. */
export function countWords(text: string): number {
  return WORD.findall(text).length;
}

/** NumberOfWords: `count_words(v)` vs the threshold. */
export const numberWords = defineInstruction(
  z.strictObject({ num_words: Count, relation: Relation }),
  ({ num_words, relation }) =>
    (v) =>
      compare(countWords(v), relation, num_words),
);

const PARAGRAPH_BREAK = new PythonRegex(String.raw`\n\n`);
const FIRST_WORD_END = new Set([".", ",", "?", "!", "'", '"']);

/**
 * ParagraphFirstWordCheck: paragraphs are split on exactly `"\n\n"`; blank pieces anywhere are
 * discounted, but paragraph n is still looked up in the unfiltered list. Its first
 * whitespace-separated word, without leading `'` then `"`, up to the first of `. , ? ! ' "`,
 * lowercased code point by code point, must equal first_word; the count must be exact.
 */
export const nthParagraphFirstWord = defineInstruction(
  z
    .strictObject({ num_paragraphs: Count, nth_paragraph: z.number().int().min(1), first_word: NonEmptyString })
    .refine((a) => a.nth_paragraph <= a.num_paragraphs, {
      message: "nth_paragraph must be between 1 and num_paragraphs",
      path: ["nth_paragraph"],
    }),
  ({ num_paragraphs, nth_paragraph, first_word }) => {
    const expected = first_word.toLowerCase();
    return (v) => {
      const parts = PARAGRAPH_BREAK.split(v);
      const n = parts.length - parts.filter((p) => pyStrip(p) === "").length;
      if (nth_paragraph > n) return false;
      const paragraph = pyStrip(parts[nth_paragraph - 1]!);
      if (paragraph === "") return false;
      const word = pyLstrip(pyLstrip(pyStrip(pySplit(paragraph)[0]!), "'"), '"');
      let first = "";
      for (const ch of word) {
        if (FIRST_WORD_END.has(ch)) break;
        // Python lowercases one character at a time here (`letter.lower()`), so a final sigma
        // stays `σ`; `toLowerCase` on the whole word would give `ς`.
        first += ch.toLowerCase();
      }
      return n === num_paragraphs && first === expected;
    };
  },
);
