/**
 * langdetect as the IFEval reference calls it: seeded (seed 0), and with "No features in text."
 * turned into `null`, which every IFEval language checker counts as *followed*.
 */
import { LangDetectException, detect } from "../langid/langdetect.ts";

/** The language langdetect reports for `text`, or `null` when it raises LangDetectException. */
export function detectOrNoFeatures(text: string): string | null {
  try {
    return detect(text);
  } catch (error) {
    if (error instanceof LangDetectException) return null;
    throw error;
  }
}
