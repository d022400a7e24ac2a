/** `keywords:*` — keyword presence, frequency, forbidden words and letter frequency. */
import { z } from "zod";
import { pyStrip } from "../../../text/python-str.ts";
import { PythonRegex } from "../python-regex.ts";
import { Count, NonEmptyString, Relation, compare, defineInstruction } from "./types.ts";

/**
 * KeywordChecker: every keyword is found by `re.search(kw, v, re.IGNORECASE)` — a regex, used
 * unescaped, matching anywhere (so "mom" is found in "moment").
 */
export const existence = defineInstruction(z.strictObject({ keywords: z.array(NonEmptyString).min(1) }), ({ keywords }) => {
  const patterns = keywords.map((k) => new PythonRegex(k, { ignoreCase: true }));
  return (v) => patterns.every((p) => p.search(v));
});

/** KeywordFrequencyChecker: `len(re.findall(keyword.strip(), v, re.IGNORECASE))` vs frequency. */
export const frequency = defineInstruction(
  z.strictObject({ keyword: NonEmptyString, frequency: Count, relation: Relation }),
  ({ keyword, frequency: threshold, relation }) => {
    const pattern = new PythonRegex(pyStrip(keyword), { ignoreCase: true });
    return (v) => compare(pattern.findall(v).length, relation, threshold);
  },
);

/** ForbiddenWords: no `re.search(r"\b" + w + r"\b", v, re.IGNORECASE)`, with Python's Unicode `\b`. */
export const forbiddenWords = defineInstruction(
  z.strictObject({ forbidden_words: z.array(NonEmptyString).min(1) }),
  ({ forbidden_words }) => {
    const patterns = [...new Set(forbidden_words)].map((w) => new PythonRegex(`\\b${w}\\b`, { ignoreCase: true }));
    return (v) => !patterns.some((p) => p.search(v));
  },
);

/**
 * LetterFrequencyChecker: `Counter(v.lower())[letter]`, counting code points. Newest reference
 * semantics: the letter is taken literally (`#`, `!` count as themselves) and must be a single
 * character after `.strip()`; the old code swapped anything outside a–z for a random letter.
 */
export const letterFrequency = defineInstruction(
  z.strictObject({
    letter: z.string().refine((s) => Array.from(pyStrip(s)).length === 1, "a single character"),
    let_frequency: Count,
    let_relation: Relation,
  }),
  ({ letter, let_frequency, let_relation }) => {
    // `.lower()` can turn one code point into two ('İ' → 'i̇'); Counter then never finds it.
    const target = pyStrip(letter).toLowerCase();
    return (v) => {
      let n = 0;
      for (const ch of v.toLowerCase()) if (ch === target) n += 1;
      return compare(n, let_relation, let_frequency);
    };
  },
);
