/** `punctuation:no_comma`. */
import { NoArgs, defineInstruction } from "./types.ts";

/** CommaChecker: `not re.search(r"\,", v)` — only ASCII `,`; `，` and `،` are allowed. */
export const noComma = defineInstruction(NoArgs, () => (v) => !v.includes(","));
