/**
 * langdetect's language profiles and the n-gram → per-language probability table built from them
 * (`DetectorFactory.load_profile` / `add_profile` of langdetect 1.0.9).
 *
 * For every n-gram of every profile, `prob[lang] = freq / n_words[n - 1]` (float64, as in Python).
 * The order of languages is the order in which the reference read its profile folder. It decides
 * each language's index, hence the order of the float sums in normalisation and the order of equal
 * probabilities after sorting, so it is kept exactly (see `PROFILE_ORDER`).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { InputError } from "../../util/errors.ts";
import { buildGramIndex, type GramIndex } from "./gram-index.ts";

export const PROFILES_DIR = fileURLToPath(new URL("../../../resources/langdetect/profiles", import.meta.url));

/**
 * `os.listdir(PROFILES_DIRECTORY)` of the reference installation (langdetect 1.0.9 from PyPI in
 * kielo's test environment). `listdir` order depends on the filesystem; this is the order that the
 * peer test's reference used, and the peer test forces its reference into this order if its own
 * folder lists differently.
 */
export const PROFILE_ORDER: readonly string[] = [
  "pl", "gu", "zh-tw", "fi", "af", "ne", "ro", "da", "hr", "de", "pa", "en", "fa", "ca", "so", "ja", "ko",
  "es", "cs", "ru", "vi", "uk", "bn", "fr", "kn", "hu", "te", "lv", "sk", "sl", "el", "id", "it", "bg", "ta",
  "he", "sq", "hi", "th", "tr", "ml", "mk", "pt", "tl", "mr", "sv", "et", "nl", "sw", "cy", "no", "ur", "lt",
  "ar", "zh-cn",
];

const profileHeaderSchema = z.object({
  name: z.string().min(1),
  // Checked entry by entry while the table is built: a zod record over ~170,000 n-grams would
  // double the load time.
  freq: z.custom<Record<string, unknown>>((value) => typeof value === "object" && value !== null && !Array.isArray(value), {
    message: "expected an object of n-gram counts",
  }),
  n_words: z.array(z.number().int().positive()).length(3),
});

export interface LangProfile {
  name: string;
  freq: Record<string, number>;
  n_words: readonly number[];
  /** Where the profile came from, for error messages. */
  file: string;
}

/** The factory's state: `langlist` and `word_lang_prob_map`, stored as one dense matrix. */
export interface ProfileTable {
  languages: readonly string[];
  /** The n-gram of each row of `probabilities`. */
  words: readonly string[];
  /** n-gram → row, for extraction. */
  index: GramIndex;
  /** Row-major `words.length × languages.length`: probability of the n-gram in each language. */
  probabilities: Float64Array;
}

export function readProfile(file: string): LangProfile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new InputError({ file }, `cannot read langdetect profile: ${(error as Error).message}`, { cause: error });
  }
  const parsed = profileHeaderSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError({ file, field: issue?.path.join(".") ?? "" }, `not a langdetect profile: ${issue?.message ?? "invalid"}`);
  }
  return { ...parsed.data, freq: parsed.data.freq as Record<string, number>, file };
}

/** `len(word)` in Python: code points, not UTF-16 units. */
function codePointLength(word: string): number {
  let length = 0;
  for (let i = 0; i < word.length; i++) {
    const unit = word.charCodeAt(i);
    // A high surrogate followed by a low one is a single code point.
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = word.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    length++;
  }
  return length;
}

/** `add_profile` for each profile, in the given order. */
export function buildProfileTable(profiles: readonly LangProfile[]): ProfileTable {
  const languages: string[] = [];
  const rows = new Map<string, number>();
  for (const profile of profiles) {
    if (languages.includes(profile.name)) {
      throw new InputError({ file: profile.file, field: "name" }, `duplicate language profile ${JSON.stringify(profile.name)}`);
    }
    languages.push(profile.name);
    for (const word in profile.freq) if (!rows.has(word)) rows.set(word, rows.size);
  }
  const width = profiles.length;
  const probabilities = new Float64Array(rows.size * width);
  profiles.forEach((profile, index) => {
    const { freq, n_words: nWords } = profile;
    for (const word in freq) {
      const count = freq[word];
      if (typeof count !== "number" || !Number.isInteger(count) || count < 0) {
        throw new InputError({ file: profile.file, field: `freq.${word}` }, `expected a non-negative integer count, got ${JSON.stringify(count)}`);
      }
      const length = codePointLength(word);
      // Longer keys get a row of zeros in the reference too; they can never match a 1-3-gram.
      if (length >= 1 && length <= 3) {
        probabilities[(rows.get(word) as number) * width + index] = count / (nWords[length - 1] as number);
      }
    }
  });
  const words = [...rows.keys()];
  return { languages, words, index: buildGramIndex(words), probabilities };
}

export function loadProfileTable(dir: string = PROFILES_DIR, order: readonly string[] = PROFILE_ORDER): ProfileTable {
  return buildProfileTable(order.map((name) => readProfile(join(dir, name))));
}
