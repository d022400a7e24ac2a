/**
 * Strict and loose IFEval verdicts (`evaluation_lib.test_instruction_following_strict/_loose`).
 *
 * Strict: an instruction is followed iff the response is not blank and its check passes.
 * Loose: the same test on eight variants of the response — as is, without `*`, without its first
 * line, its last line, or both, and those three without `*` — followed if any variant passes.
 */
import { PY_S, pyStrip } from "../../text/python-str.ts";
import type { Check } from "./instructions/types.ts";

/** The eight loose variants in the reference's order (split on `"\n"` only; `\r` stays). */
export function looseVariants(response: string): string[] {
  const lines = response.split("\n");
  const removeFirst = pyStrip(lines.slice(1).join("\n"));
  const removeLast = pyStrip(lines.slice(0, -1).join("\n"));
  const removeBoth = pyStrip(lines.slice(1, -1).join("\n"));
  const noStars = (s: string) => s.replaceAll("*", "");
  return [response, noStars(response), removeFirst, removeLast, removeBoth, noStars(removeFirst), noStars(removeLast), noStars(removeBoth)];
}

/** `text.strip() == ""`, answered from the start of the text instead of by stripping it whole. */
const PY_BLANK = new RegExp(`^${PY_S}*$`, "u");

function followed(check: Check, text: string): boolean {
  return !PY_BLANK.test(text) && check(text);
}

export interface Verdicts {
  strict: boolean[];
  loose: boolean[];
}

/**
 * Both verdict lists for one response. Checks are pure, so a variant equal to one already tried
 * is skipped (the reference would compute the same answer again); the first variant is the
 * strict test itself.
 */
export function judge(checks: readonly Check[], response: string): Verdicts {
  const variants = [...new Set(looseVariants(response))];
  const strict: boolean[] = [];
  const loose: boolean[] = [];
  for (const check of checks) {
    const s = followed(check, response);
    strict.push(s);
    loose.push(s || variants.some((v) => v !== response && followed(check, v)));
  }
  return { strict, loose };
}
