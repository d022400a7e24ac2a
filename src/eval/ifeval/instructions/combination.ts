/** `combination:*` — two different responses, and repeating the prompt first. */
import { z } from "zod";
import { pySplit, pyStrip } from "../../../text/python-str.ts";
import { NoArgs, NonEmptyString, defineInstruction } from "./types.ts";

/**
 * TwoResponsesChecker: split on exactly `******`; a blank piece is allowed only first or last;
 * exactly two non-blank pieces must remain and differ after stripping.
 */
export const twoResponses = defineInstruction(NoArgs, () => {
  return (v) => {
    const parts = pySplit(v, "******");
    const valid: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (pyStrip(part) === "") {
        if (i !== 0 && i !== parts.length - 1) return false;
      } else {
        valid.push(part);
      }
    }
    return valid.length === 2 && pyStrip(valid[0]!) !== pyStrip(valid[1]!);
  };
});

/** RepeatPromptThenAnswer: the stripped, lowercased response starts with the stripped, lowercased prompt. */
export const repeatPrompt = defineInstruction(z.strictObject({ prompt_to_repeat: NonEmptyString }), ({ prompt_to_repeat }) => {
  const prefix = pyStrip(prompt_to_repeat).toLowerCase();
  return (v) => pyStrip(v).toLowerCase().startsWith(prefix);
});
