// The regular expressions of nltk 3.9.1 `PunktLanguageVars` (the English defaults, which every
// published Punkt model uses), translated from Python `re` to JS `u`-flag RegExp.
//
// Translation rules (see src/text/python-str.ts): `\s`/`\S` → Python's whitespace set, `\w`/`\d`
// → Unicode classes, `$` → Python's end-of-text (or before a final `\n`), MULTILINE `$` → before
// `\n` or the end. VERBOSE whitespace and comments are dropped by hand.
import { PY_END, PY_END_MULTILINE, PY_NOT_S, PY_S } from "../../text/python-str.ts";

/** `sent_end_chars`: characters that can end a sentence. */
export const SENT_END_CHARS: readonly string[] = [".", "?", "!"];

/** `_re_sent_end_chars`: `[\.\?!]`. */
const SENT_END_CLASS = "[.?!]";

/**
 * `_re_non_word_chars`: `(?:[)\";}\]\*:@\'\({\[` + the sentence-end chars other than `.`
 * (`?` and `!`, in set order — irrelevant inside a class) + `])`.
 */
const NON_WORD = `(?:[)";}\\]*:@'({\\[?!])`;

/** `_re_multi_char_punct`: dashes, ellipses, spaced ellipses. */
const MULTI_CHAR = `(?:-{2,}|\\.{2,}|(?:\\.${PY_S}){2,}\\.)`;

/** `_re_word_start`: characters that cannot start a word token. */
const WORD_START = `[^("\`{\\[:;&#*@)}\\]\\-,]`;

/**
 * `_word_tokenize_fmt` filled in: a multi-character punctuation run, or a word (lazy, up to
 * whitespace, end, non-word punctuation, multi-char punctuation or a word-final comma), or
 * any single non-space character. `findall` with its one group returns whole matches.
 */
export const WORD_TOKENIZER = new RegExp(
  `${MULTI_CHAR}` +
    `|(?=${WORD_START})${PY_NOT_S}+?(?=${PY_S}|${PY_END}|${NON_WORD}|${MULTI_CHAR}|,(?=${PY_END}|${PY_S}|${NON_WORD}|${MULTI_CHAR}))` +
    `|${PY_NOT_S}`,
  "gu",
);

/**
 * `_period_context_fmt` filled in: a sentence-end character followed (look-ahead) by either
 * non-word punctuation or whitespace and the next token. Groups: `after_tok`, `next_tok`.
 */
export const PERIOD_CONTEXT = new RegExp(
  `${SENT_END_CLASS}(?=(?<after_tok>${NON_WORD}|${PY_S}+(?<next_tok>${PY_NOT_S}+)))`,
  "gu",
);

/**
 * `re_boundary_realignment` (MULTILINE), used with `.match` (anchored at the start):
 * closing quotes/brackets that belong to the sentence before.
 */
export const BOUNDARY_REALIGNMENT = new RegExp(`^["')\\]}]+?(?:${PY_S}+|(?=--)|${PY_END_MULTILINE})`, "u");

/** `word_tokenize(s)`: `findall` of {@link WORD_TOKENIZER}. */
export function punktWordTokenize(line: string): string[] {
  return line.match(WORD_TOKENIZER) ?? [];
}
