/** `detectable_content:*` — placeholders and postscripts. */
import { z } from "zod";
import { pyStrip } from "../../../text/python-str.ts";
import { PythonRegex } from "../python-regex.ts";
import { Count, NonEmptyString, defineInstruction } from "./types.ts";

const PLACEHOLDER = new PythonRegex(String.raw`\[.*?\]`);

/** PlaceholderChecker: at least n non-overlapping `[…]` on one line (`[]` counts). */
export const numberPlaceholders = defineInstruction(z.strictObject({ num_placeholders: Count }), ({ num_placeholders }) => {
  return (v) => PLACEHOLDER.findall(v).length >= num_placeholders;
});

/**
 * PostscriptChecker: the lowercased response contains the marker anywhere (the pattern starts
 * with `\s*`, so the MULTILINE `$` is its only anchor). `P.P.S` and `P.S.` have fixed patterns
 * that allow one optional whitespace between the letters; any other marker is used as a regex.
 */
export const postscript = defineInstruction(z.strictObject({ postscript_marker: NonEmptyString }), ({ postscript_marker }) => {
  const marker = pyStrip(postscript_marker);
  let pattern: string;
  if (marker === "P.P.S") pattern = String.raw`\s*p\.\s?p\.\s?s.*$`;
  else if (marker === "P.S.") pattern = String.raw`\s*p\.\s?s\..*$`;
  else pattern = String.raw`\s*` + marker.toLowerCase() + String.raw`.*$`;
  const regex = new PythonRegex(pattern, { multiline: true });
  return (v) => regex.search(v.toLowerCase());
});
