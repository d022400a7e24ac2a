/** `detectable_format:*` — bullets, fixed answers, highlights, sections, JSON and titles. */
import { z } from "zod";
import { pyRstrip, pyLstrip, pyStrip } from "../../../text/python-str.ts";
import { pythonJsonLoads } from "../python-json.ts";
import { PythonRegex } from "../python-regex.ts";
import { Count, NoArgs, NonEmptyString, defineInstruction } from "./types.ts";

// MULTILINE: `^`/`$` at `\n` only. `\s*` and `[^\*]` may cross newlines, as in Python.
const STAR_BULLET = new PythonRegex(String.raw`^\s*\*[^\*].*$`, { multiline: true });
const DASH_BULLET = new PythonRegex(String.raw`^\s*-.*$`, { multiline: true });

/** BulletListChecker: `* ` and `-` lines together number *exactly* num_bullets. */
export const numberBulletLists = defineInstruction(z.strictObject({ num_bullets: Count }), ({ num_bullets }) => {
  return (v) => STAR_BULLET.findall(v).length + DASH_BULLET.findall(v).length === num_bullets;
});

const CONSTRAINED_RESPONSES = ["My answer is yes.", "My answer is no.", "My answer is maybe."] as const;

/** ConstrainedResponseChecker: one of the three answers appears (case-sensitive substring). */
export const constrainedResponse = defineInstruction(NoArgs, () => {
  return (v) => {
    const text = pyStrip(v);
    return CONSTRAINED_RESPONSES.some((answer) => text.includes(answer));
  };
});

const SINGLE_HIGHLIGHT = new PythonRegex(String.raw`\*[^\n\*]*\*`);
const DOUBLE_HIGHLIGHT = new PythonRegex(String.raw`\*\*[^\n\*]*\*\*`);

/**
 * HighlightSectionChecker: non-blank `*…*` plus non-blank `**…**` (each within a line) number at
 * least num_highlights. `**bold**` counts once: its single-star matches are the empty `**` pairs.
 */
export const numberHighlightedSections = defineInstruction(z.strictObject({ num_highlights: Count }), ({ num_highlights }) => {
  return (v) => {
    let n = 0;
    for (const m of SINGLE_HIGHLIGHT.findall(v)) if (pyStrip(pyStrip(m, "*")) !== "") n += 1;
    for (const m of DOUBLE_HIGHLIGHT.findall(v)) if (pyStrip(m.slice(2, -2)) !== "") n += 1;
    return n >= num_highlights;
  };
});

/**
 * SectionChecker: `re.split(r"\s?" + spliter + r"\s?\d+\s?", v)` gives at least num_sections + 1
 * pieces. Case-sensitive; the spliter is a regex; it also matches inside words ("Subsection 2").
 */
export const multipleSections = defineInstruction(
  z.strictObject({ section_spliter: NonEmptyString, num_sections: Count }),
  ({ section_spliter, num_sections }) => {
    const splitter = new PythonRegex(String.raw`\s?` + pyStrip(section_spliter) + String.raw`\s?\d+\s?`);
    return (v) => splitter.split(v).length - 1 >= num_sections;
  },
);

function removePrefix(s: string, prefix: string): string {
  return s.startsWith(prefix) ? s.slice(prefix.length) : s;
}

function removeSuffix(s: string, suffix: string): string {
  return suffix !== "" && s.endsWith(suffix) ? s.slice(0, -suffix.length) : s;
}

/**
 * JsonFormat: after stripping whitespace, one of the fences ```` ```json ````, ```` ```Json ````,
 * ```` ```JSON ```` and ```` ``` ```` (each removed if present, in that order) and a closing
 * ```` ``` ````, the rest must be accepted by Python's `json.loads` (any JSON value, NaN too).
 */
export const jsonFormat = defineInstruction(NoArgs, () => {
  return (v) => {
    let text = pyStrip(v);
    for (const fence of ["```json", "```Json", "```JSON", "```"]) text = removePrefix(text, fence);
    text = pyStrip(removeSuffix(text, "```"));
    return pythonJsonLoads(text);
  };
});

const TITLE = new PythonRegex(String.raw`<<[^\n]+>>`);

/** TitleChecker: some `<<…>>` on one line (greedy) is non-blank once the brackets are removed. */
export const title = defineInstruction(NoArgs, () => {
  return (v) => TITLE.findall(v).some((t) => pyStrip(pyRstrip(pyLstrip(t, "<"), ">")) !== "");
});
