/**
 * Code outside Markdown fences, recognised by its shape: answers often paste script lines, config
 * or commands without ``` fences, and such lines are neither prose to language-check nor text a
 * translator should have translated. Heuristic by design (no parser knows every language): a line
 * is code when it looks like a statement, an assignment, a call, a command or a markup tag; a
 * comment or a lone `else:` between two code lines is code too.
 */

import { MARKUP_TAG } from "./format-anchors.ts";

const KEYWORDS =
  "def|class|import|from \\S+ import|return|raise|yield|pass|assert|del|with|async|await|try|except|finally|var|let|const|local|func|function|fn|pub|use|extends|package|using|require|puts|#include|#define|public|private|protected|static|void|int|print\\(|console\\.|echo|export|sudo|npm|npx|pip3?|git|cd|ls|ln|cp|mv|rm|chmod|cat|grep|sed|awk|mkdir|apt(?:-get)?|docker|curl|wget|python3?|node|java|gcc|make|SELECT|INSERT|UPDATE|CREATE|DELETE FROM";

const CODE_LINE: readonly RegExp[] = [
  // Statements that open with a keyword of a common language (lowercase, as code writes them).
  new RegExp(`^\\s*(?:${KEYWORDS})(?:\\s|\\(|$)`),
  // Block openers: `if x:`, `for (…) {`, `while x do`, `if x then`, `else:`, `end`.
  /^\s*(?:if|elif|elseif|else|while|for|switch|case|try|except|finally)\b.*(?:[:{]|\b(?:then|do))\s*$/,
  /^\s*(?:end|fi|done|esac|else)\s*$/,
  // Assignments and augmented assignments: `x = 5`, `self.a += 1`, `local n = nil`.
  /^\s*(?:(?:local|var|let|const|my|val|auto|final)\s+)?[A-Za-z_$][\w$]*(?:(?:\.|::|->)[\w$]+|\[[^\]]*\])*\s*(?:[-+*/%|&^]|\/\/|\*\*|:)?=\s*\S.*$/,
  // Calls and lines ending like code: `foo(bar);`, `}`, `{`, `);`.
  /^\s*[\w$.:]+!?\(.*\)\s*;?\s*$/,
  /[;{}]\s*$/,
  /^\s*[}\])]+[;,]?\s*$/,
  // Shell prompts, comment markers, decorators, TeX commands.
  /^\s*(?:\$ |>>>|#!|\/\/|\/\*|\*\/|@[A-Za-z]\w*|\\[A-Za-z]+)/,
];

/** A line that opens with a markup tag (`<div class="a">`, `<p>text</p>`). */
const TAG_OPENED = new RegExp(`^\\s*${MARKUP_TAG.source}`);

/**
 * Markup is code; a sentence that merely starts with a tag is not (a UI string
 * "<schema id='%s'> is a list of…" and its translation): it runs on after its last tag
 * with words of its own.
 */
function isMarkupLine(line: string): boolean {
  if (!TAG_OPENED.test(line)) return false;
  if (/>\s*$/.test(line)) return true;
  const outside = line.replace(MARKUP_TAG, " ").match(/\p{L}{2,}/gu) ?? [];
  return outside.length < 3;
}

/** A comment line of a scripting language (also a Markdown heading: only code between code lines counts). */
const COMMENT = /^\s*(?:#|--|%|;)/;

export function isCodeLine(line: string): boolean {
  if (line.trim() === "") return false;
  // HTML entities end in `;` without being code ("escape ampersand as &amp;").
  const bare = line.replace(/&(?:#\d+|#x[0-9a-f]+|[a-z]+\d*);/gi, "&");
  return isMarkupLine(line) || CODE_LINE.some((pattern) => pattern.test(bare));
}

/** For each line: whether it is code, by its own shape or as a comment/continuation between code lines. */
export function codeLineFlags(text: string): boolean[] {
  const lines = text.split("\n");
  const flags = lines.map(isCodeLine);
  const neighbour = (index: number, step: number) => {
    for (let i = index + step; i >= 0 && i < lines.length; i += step) if (lines[i]!.trim() !== "") return flags[i]!;
    return false;
  };
  return lines.map((line, i) => {
    if (flags[i] || line.trim() === "") return flags[i]!;
    // A line between code lines (a comment, a continuation, a lone `else`) belongs to the code;
    // so does a comment right before or after code.
    const before = neighbour(i, -1);
    const after = neighbour(i, 1);
    return (before && after) || (COMMENT.test(line) && (before || after));
  });
}

/** The text with code-shaped lines blanked (line breaks kept, so paragraphs stay paragraphs). */
export function withoutCodeLines(text: string): string {
  const flags = codeLineFlags(text);
  return text
    .split("\n")
    .map((line, i) => (flags[i] ? "" : line))
    .join("\n");
}
