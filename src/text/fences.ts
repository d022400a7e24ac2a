/** Fenced code blocks (``` or ~~~) of Markdown text: kept verbatim by translation, checked by cleaning. */

/** From the opening fence line to the closing one; an unclosed fence runs to the end of the text. */
export const FENCE = /^[ \t]*(`{3,}|~{3,})[^\n]*\n[\s\S]*?^[ \t]*\1[ \t]*$|^[ \t]*(`{3,}|~{3,})[^\n]*(?:\n[\s\S]*)?$(?![\s\S])/gm;

export function fencedCodeBlocks(text: string): string[] {
  return [...text.matchAll(FENCE)].map((match) => match[0]);
}
