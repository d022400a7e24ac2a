/**
 * A faithful port of Python `langdetect` 1.0.9 (`detector.py`, `detector_factory.py`), seeded.
 *
 * `detect(text)` returns what Python returns for `DetectorFactory.seed = 0; detect(text)`, and
 * throws `LangDetectException("No features in text.")` where Python raises it. As in the reference,
 * every call builds a fresh detector whose generator is re-seeded (`random.seed(seed)` in
 * `_detect_block`), so a text's result does not depend on earlier calls. The profiles are loaded
 * once, lazily, on the first call (about 0.5 s), like the reference's module-level factory.
 *
 * Why not an npm package: none reproduces the reference (see docs/langid.md).
 */
import { MersenneTwister } from "../../util/mt19937.ts";
import { loadMessages } from "./messages.ts";
import { buildBmpLookup, buildNgramTables, extractNgrams, normalizeVi, type BmpLookup, type NgramTables } from "./ngram.ts";
import { loadProfileTable, PROFILE_ORDER, PROFILES_DIR, type ProfileTable } from "./profiles.ts";

/** `lang_detect_exception.ErrorCode` values of the reference. */
export const LangDetectErrorCode = {
  NoTextError: 0,
  FormatError: 1,
  FileLoadError: 2,
  DuplicateLangError: 3,
  NeedLoadProfileError: 4,
  CantDetectError: 5,
  CantOpenTrainData: 6,
  TrainDataFormatError: 7,
  InitParamError: 8,
} as const;

export class LangDetectException extends Error {
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.name = "LangDetectException";
    this.code = code;
  }
}

/** `langdetect.language.Language`. */
export interface LanguageProbability {
  lang: string;
  prob: number;
}

export interface LangDetectOptions {
  /** `DetectorFactory.seed`. The reference default is `None` (OS entropy); kielo always seeds. */
  seed?: number;
}

export const DEFAULT_SEED = 0;

// Constants of `Detector`.
const ALPHA_DEFAULT = 0.5;
const ALPHA_WIDTH = 0.05;
const ITERATION_LIMIT = 1000;
const PROB_THRESHOLD = 0.1;
const CONV_THRESHOLD = 0.99999;
const BASE_FREQ = 10000;
const N_TRIAL = 7;
const MAX_TEXT_LENGTH = 10000;
export const UNKNOWN_LANG = "unknown";

const URL_RE = /https?:\/\/[-_.?&~;+=/#0-9A-Za-z]{1,2076}/g;
const MAIL_RE = /[-_.0-9A-Za-z]{1,64}@[-_0-9A-Za-z]{1,255}[-_.0-9A-Za-z]{1,255}/g;

/** Everything a detector reads: the factory's profile table and the n-gram tables. */
export interface LangDetectModel {
  profiles: ProfileTable;
  tables: NgramTables;
  bmp: BmpLookup;
}

/** Load the shipped tables; `profileOrder` only changes the order in which profiles are added. */
export function loadLangDetectModel(profileOrder: readonly string[] = PROFILE_ORDER): LangDetectModel {
  const tables = buildNgramTables(loadMessages());
  return { profiles: loadProfileTable(PROFILES_DIR, profileOrder), tables, bmp: buildBmpLookup(tables) };
}

let sharedModel: LangDetectModel | undefined;

/** The model of the shipped profiles, loaded on first use (`init_factory`). */
export function defaultLangDetectModel(): LangDetectModel {
  sharedModel ??= loadLangDetectModel();
  return sharedModel;
}

/**
 * `Detector.append(text)`: drop URLs and e-mail addresses, normalise Vietnamese, keep the first
 * 10,000 characters (code points) and collapse runs of spaces. Returns code points.
 */
export function appendText(text: string, tables: NgramTables): number[] {
  const cleaned = normalizeVi(text.replace(URL_RE, " ").replace(MAIL_RE, " "), tables);
  const out: number[] = [];
  let pre = -1;
  let count = 0;
  for (const ch of cleaned) {
    if (count++ >= MAX_TEXT_LENGTH) break;
    const cp = ch.codePointAt(0) as number;
    if (cp !== 0x20 || pre !== 0x20) out.push(cp);
    pre = cp;
  }
  return out;
}

/**
 * `Detector.cleaning_text`: when Latin letters are less than half as many as other characters,
 * delete every character in 'A'..'z'.
 *
 * The reference means to exempt the Latin Extended Additional block from the non-Latin count, but
 * compares the block's number with the string 'Latin Extended Additional', which is never equal:
 * every character from U+0300 on is counted. Reproduced as it behaves.
 */
export function cleaningText(text: number[]): number[] {
  let latinCount = 0;
  let nonLatinCount = 0;
  for (const ch of text) {
    if (ch >= 0x41 && ch <= 0x7a) latinCount++;
    else if (ch >= 0x300) nonLatinCount++;
  }
  if (latinCount * 2 < nonLatinCount) return text.filter((ch) => ch < 0x41 || ch > 0x7a);
  return text;
}

/** `Detector._normalize_prob`: divide by the (left-to-right) sum; return the largest value. */
function normalizeProb(prob: Float64Array): number {
  let sump = 0.0;
  for (let i = 0; i < prob.length; i++) sump += prob[i] as number;
  let maxp = 0.0;
  for (let i = 0; i < prob.length; i++) {
    const p = (prob[i] as number) / sump;
    if (maxp < p) maxp = p;
    prob[i] = p;
  }
  return maxp;
}

/** `Detector._detect_block` after the n-grams are known: the averaged probabilities of 7 trials. */
function detectBlock(ngramRows: readonly number[], profiles: ProfileTable, seed: number): Float64Array {
  const width = profiles.languages.length;
  const matrix = profiles.probabilities;
  const langprob = new Float64Array(width);
  const random = new MersenneTwister(seed);
  for (let t = 0; t < N_TRIAL; t++) {
    const prob = new Float64Array(width).fill(1.0 / width);
    const alpha = ALPHA_DEFAULT + random.gauss(0.0, 1.0) * ALPHA_WIDTH;
    const weight = alpha / BASE_FREQ;
    for (let i = 0; ; i++) {
      // `_update_lang_prob(prob, random.choice(ngrams), alpha)`
      const offset = random.choice(ngramRows) * width;
      for (let j = 0; j < width; j++) prob[j] = (prob[j] as number) * (weight + (matrix[offset + j] as number));
      if (i % 5 === 0 && (normalizeProb(prob) > CONV_THRESHOLD || i >= ITERATION_LIMIT)) break;
    }
    for (let j = 0; j < width; j++) langprob[j] = (langprob[j] as number) + (prob[j] as number) / N_TRIAL;
  }
  return langprob;
}

/** `Detector._sort_probability`: languages above 0.1, most probable first (stable for ties). */
function sortProbability(languages: readonly string[], prob: Float64Array): LanguageProbability[] {
  const result: LanguageProbability[] = [];
  languages.forEach((lang, i) => {
    const p = prob[i] as number;
    if (p > PROB_THRESHOLD) result.push({ lang, prob: p });
  });
  return result.sort((a, b) => (a.prob < b.prob ? 1 : b.prob < a.prob ? -1 : 0));
}

/** `langdetect.detect_langs(text)`: the languages with probability > 0.1, most probable first. */
export function detectLangs(text: string, options: LangDetectOptions = {}, model: LangDetectModel = defaultLangDetectModel()): LanguageProbability[] {
  const { profiles, tables, bmp } = model;
  const chars = cleaningText(appendText(text, tables));
  // The n-grams, each as its row of the probability table.
  const rows = extractNgrams(chars, tables, bmp, profiles.index);
  if (rows.length === 0) throw new LangDetectException(LangDetectErrorCode.CantDetectError, "No features in text.");
  return sortProbability(profiles.languages, detectBlock(rows, profiles, options.seed ?? DEFAULT_SEED));
}

/** `langdetect.detect(text)`: the most probable language, or "unknown" if none is above 0.1. */
export function detect(text: string, options: LangDetectOptions = {}, model: LangDetectModel = defaultLangDetectModel()): string {
  return detectLangs(text, options, model)[0]?.lang ?? UNKNOWN_LANG;
}
