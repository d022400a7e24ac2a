/**
 * Language identification for evaluation: one interface over the two detectors kielo ships.
 *
 * - `langdetect` (default): the faithful port of Python langdetect 1.0.9 with seed 0, so results
 *   match the IFEval reference and the paper's "share of answers in the target language".
 * - `eld`: Nito-ELD, a different model, offered as an alternative; its codes are mapped to
 *   langdetect's (see eld.ts).
 *
 * Both answer with langdetect's codes (ISO 639-1, plus `zh-cn`/`zh-tw`), or null when they cannot
 * name a language (langdetect: "No features in text." or nothing above 0.1; eld: empty result).
 */
import { DEFAULT_ELD_SIZE, loadEld, type EldSize } from "./eld.ts";
import { defaultLangDetectModel, detect, LangDetectException, UNKNOWN_LANG } from "./langdetect.ts";

export type DetectorName = "langdetect" | "eld";
export const DETECTOR_NAMES: readonly DetectorName[] = ["langdetect", "eld"];

export interface LanguageDetector {
  readonly name: DetectorName;
  /** The language of `text` as a langdetect code, or null when none can be given. */
  detect(text: string): string | null;
}

export interface DetectorOptions {
  /** langdetect's seed (default 0, as the reference IFEval uses). */
  seed?: number;
  /** eld's database size (default "medium"). */
  eldSize?: EldSize;
}

/** A ready detector; loading its data (langdetect ~0.5 s, eld medium ~1 s, once per process) happens here. */
export async function getDetector(name: DetectorName, options: DetectorOptions = {}): Promise<LanguageDetector> {
  if (name === "langdetect") {
    const model = defaultLangDetectModel();
    const seed = options.seed ?? 0;
    return {
      name,
      detect(text: string): string | null {
        try {
          const lang = detect(text, { seed }, model);
          return lang === UNKNOWN_LANG ? null : lang;
        } catch (error) {
          if (error instanceof LangDetectException) return null;
          throw error;
        }
      },
    };
  }
  const eld = await loadEld(options.eldSize ?? DEFAULT_ELD_SIZE);
  return { name, detect: (text: string) => eld.detect(text) };
}

export interface DetectorDisagreement {
  /** Position of the text in the input. */
  index: number;
  langdetect: string | null;
  eld: string | null;
}

export interface DetectorComparison {
  total: number;
  agreed: number;
  disagreements: DetectorDisagreement[];
}

/** Run both detectors on every text and list the texts on which they name different languages. */
export async function compareDetectors(texts: readonly string[], options: DetectorOptions = {}): Promise<DetectorComparison> {
  const [langdetect, eld] = await Promise.all([getDetector("langdetect", options), getDetector("eld", options)]);
  const disagreements: DetectorDisagreement[] = [];
  texts.forEach((text, index) => {
    const a = langdetect.detect(text);
    const b = eld.detect(text);
    if (a !== b) disagreements.push({ index, langdetect: a, eld: b });
  });
  return { total: texts.length, agreed: texts.length - disagreements.length, disagreements };
}

export { detect as langdetectDetect, detectLangs as langdetectDetectLangs, LangDetectException } from "./langdetect.ts";
export type { LanguageProbability } from "./langdetect.ts";
