/** `language:response_language` — the response is in the requested language, per langdetect. */
import { z } from "zod";
import { detectOrNoFeatures } from "../detect-language.ts";
import { NonEmptyString, defineInstruction } from "./types.ts";

/**
 * ResponseLanguageChecker: `langdetect.detect(v) == language`; when langdetect finds no
 * features ("No features in text.") the reference counts the instruction as followed.
 */
export const responseLanguage = defineInstruction(z.strictObject({ language: NonEmptyString }), ({ language }) => {
  return (v) => {
    const detected = detectOrNoFeatures(v);
    return detected === null || detected === language;
  };
});
