/** `startend:*` — the end phrase and wrapping quotation marks. */
import { z } from "zod";
import { codePointLength, pyStrip } from "../../../text/python-str.ts";
import { NoArgs, NonEmptyString, defineInstruction } from "./types.ts";

/**
 * EndChecker: `v.strip().strip('"').lower().endswith(end_phrase.strip().lower())`. Whitespace is
 * stripped only outside the quotes, so `…phrase.\n"` fails; only ASCII `"` is stripped.
 */
export const endChecker = defineInstruction(z.strictObject({ end_phrase: NonEmptyString }), ({ end_phrase }) => {
  const suffix = pyStrip(end_phrase).toLowerCase();
  return (v) => pyStrip(pyStrip(v), '"').toLowerCase().endsWith(suffix);
});

/** QuotationChecker: the stripped response has at least two code points and starts and ends with ASCII `"`. */
export const quotation = defineInstruction(NoArgs, () => {
  return (v) => {
    const text = pyStrip(v);
    return codePointLength(text) > 1 && text.startsWith('"') && text.endsWith('"');
  };
});
