/**
 * Code outside Markdown fences, recognised by its shape: answers often paste script lines, config
 * or commands without ``` fences, and such lines are neither prose to language-check nor text a
 * translator should have translated. Heuristic by design (no parser knows every language): a line
 * is code when it looks like a statement, an assignment, a call, a command or a markup tag, and a
 * short run of prose-looking lines between code lines is taken as code too only if indented.
 */

const CODE_LINE: readonly RegExp[] = [
  // Statements that open with a keyword of a common language (lowercase, as code writes them).
  /^\s*(?:if|elif|while|for)\b.*[:{]\s*$/,
  /^\s*(?:def|class|import|from \S+ import|return|elif|else:|try:|except\b|finally:|while|for \S+ in|var|let|const|func|function|fn|pub|extends|package|using|#include|#define|public|private|static|void|int|print\(|console\.|echo|export|sudo|npm|npx|pip|git|cd|ls|mkdir|apt(?:-get)?|docker|curl|wget|python3?|node|java|gcc|make|SELECT|INSERT|UPDATE|CREATE|DELETE FROM)\b.*$/,
  // Assignments and augmented assignments: `x = 5`, `self.a += 1`, `key: value` in YAML is not included.
  /^\s*[A-Za-z_$][\w$]*(?:\.[\w$]+|\[[^\]]*\])*\s*(?:[-+*/%|&^]|\/\/|\*\*|:)?=\s*\S.*$/,
  // Calls and lines ending like code: `foo(bar);`, `}`, `{`, `);`, `end`.
  /^\s*[\w$.]+\(.*\)\s*;?\s*$/,
  /[;{}]\s*$/,
  /^\s*[}\])]+[;,]?\s*$/,
  // Shell prompts, comments, markup tags, decorators.
  /^\s*(?:\$|>>>|#!|\/\/|<\/?[A-Za-z][\w-]*(?:\s[^>]*)?>|@[A-Za-z]\w*)/,
];

export function isCodeLine(line: string): boolean {
  if (line.trim() === "") return false;
  return CODE_LINE.some((pattern) => pattern.test(line));
}

/** The text with code-shaped lines blanked (line breaks kept, so paragraphs stay paragraphs). */
export function withoutCodeLines(text: string): string {
  return text
    .split("\n")
    .map((line) => (isCodeLine(line) ? "" : line))
    .join("\n");
}
