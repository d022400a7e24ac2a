/** `change_case:*` — capitalised words, and all-capital / all-lowercase English. */
import { z } from "zod";
import { isLower, isUpper } from "../../../text/python-str.ts";
import { wordTokenize } from "../../nltk/word-tokenize.ts";
import { detectOrNoFeatures } from "../detect-language.ts";
import { Count, NoArgs, Relation, compare, defineInstruction } from "./types.ts";

/**
 * CapitalWordFrequencyChecker: tokens of `nltk.word_tokenize(v)` (Punkt sentences, then the
 * Treebank tokenizer: `DON'T` → `DO` `N'T`, both counted) for which `isupper()` holds.
 */
export const capitalWordFrequency = defineInstruction(
  z.strictObject({ capital_frequency: Count, capital_relation: Relation }),
  ({ capital_frequency, capital_relation }) => {
    return (v) => {
      let n = 0;
      for (const token of wordTokenize(v)) if (isUpper(token)) n += 1;
      return compare(n, capital_relation, capital_frequency);
    };
  },
);

/**
 * `cased(v) and langdetect.detect(v) == "en"`, with "No features in text." counted as followed.
 * langdetect runs only when the case test passes, as in the reference's `and`.
 */
function caseAndEnglish(cased: (v: string) => boolean) {
  return () => (v: string) => {
    if (!cased(v)) return false;
    const detected = detectOrNoFeatures(v);
    return detected === null || detected === "en";
  };
}

/** CapitalLettersEnglishChecker: Python `isupper()` and detected as English. */
export const englishCapital = defineInstruction(NoArgs, caseAndEnglish(isUpper));

/** LowercaseLettersEnglishChecker: Python `islower()` and detected as English. */
export const englishLowercase = defineInstruction(NoArgs, caseAndEnglish(isLower));
