// Python-compatible string helpers and regex fragments.
//
// The IFEval reference and NLTK are Python code: their `str.strip()`, `str.split()`,
// `str.isupper()`, `len()` and `re` classes (`\w`, `\s`, `\d`, `\b`) follow CPython's
// Unicode definitions, which differ from JavaScript's `trim()`, `split()`, `.length` and
// RegExp classes. Everything here reproduces CPython 3.11 (Unicode 14.0); the JS side
// reads Unicode properties from Node's ICU (a newer Unicode), so the two can only differ
// on code points assigned after Unicode 14.0.

// ---------------------------------------------------------------------------------------
// Regex source fragments (for RegExp with the `u` or `v` flag).
// ---------------------------------------------------------------------------------------

/**
 * Body of a character class for Python's `\w` on `str` patterns: `_` plus every code point
 * for which `str.isalnum()` is true (`isalpha` = categories L*, plus `isdecimal`/`isdigit`/
 * `isnumeric`). Checked exhaustively against CPython 3.11's `re`: on all 0x110000 code points
 * `re.match(r"\w", c)` equals "category starts with L or N, or c == '_'". Marks (M*) are
 * not word characters. Use inside brackets: `[${PY_WORD_CLASS_BODY}-]`.
 */
export const PY_WORD_CLASS_BODY = "\\p{L}\\p{N}_";

/** Python `\w` (Unicode). JS `\w` is ASCII-only even with `u`. */
export const PY_W = `[${PY_WORD_CLASS_BODY}]`;

/** Python `\W`: any code point that is not `\w` (including `\n`). */
export const PY_NOT_W = `[^${PY_WORD_CLASS_BODY}]`;

/**
 * Body of a character class for Python's `\s` on `str`: CPython's `Py_UNICODE_ISSPACE`
 * (bidi class WS/B/S or category Zs) — exactly `str.isspace()`; checked exhaustively against
 * CPython 3.11. JS `\s` differs: it adds U+FEFF and lacks U+001C–U+001F and U+0085.
 */
export const PY_SPACE_CLASS_BODY =
  "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

/** Python `\s`. */
export const PY_S = `[${PY_SPACE_CLASS_BODY}]`;

/** Python `\S`. */
export const PY_NOT_S = `[^${PY_SPACE_CLASS_BODY}]`;

/**
 * Python `\d` on `str`: `str.isdecimal()`, i.e. general category Nd (checked exhaustively
 * against CPython 3.11). Superscripts and circled digits are *not* `\d` (they are `isdigit`).
 */
export const PY_D = "\\p{Nd}";

/** Python `\D`. */
export const PY_NOT_D = "\\P{Nd}";

/**
 * Python `\b` on `str`: a position where exactly one side is a (Unicode) `\w` character, the
 * text edges counting as non-word. JS `\b` uses ASCII `\w` even with `u`, so it is spelled
 * out with look-arounds.
 */
export const PY_WORD_BOUNDARY = `(?:(?<=${PY_W})(?!${PY_W})|(?<!${PY_W})(?=${PY_W}))`;

/** Python `\B`: a position that is not a `\b`. */
export const PY_NOT_WORD_BOUNDARY = `(?:(?<=${PY_W})(?=${PY_W})|(?<!${PY_W})(?!${PY_W}))`;

/**
 * Python `.` without DOTALL: anything but `\n`. JS `.` also refuses `\r`, U+2028 and U+2029.
 */
export const PY_DOT = "[^\\n]";

// ---------------------------------------------------------------------------------------
// str methods
// ---------------------------------------------------------------------------------------

const PY_SPACE_CHAR = new RegExp(`^${PY_S}$`, "u");
const LEADING_PY_SPACE = new RegExp(`^${PY_S}+`, "u");
const TRAILING_PY_SPACE = new RegExp(`${PY_S}+$`, "u");
const PY_SPACE_RUN = new RegExp(`${PY_S}+`, "u");
const PY_NON_SPACE_RUNS = new RegExp(`${PY_NOT_S}+`, "gu");

/** Python `c.isspace()` for one code point (or a string made only of whitespace, non-empty). */
export function isPySpace(c: string): boolean {
  return c.length > 0 && [...c].every((ch) => PY_SPACE_CHAR.test(ch));
}

function stripSet(chars: string): Set<string> {
  return new Set(Array.from(chars));
}

/**
 * Python `s.lstrip(chars=None)`: without `chars` removes leading Python whitespace; with
 * `chars` removes leading code points that belong to the set `chars` (not a prefix string).
 */
export function pyLstrip(s: string, chars?: string): string {
  if (chars === undefined) return s.replace(LEADING_PY_SPACE, "");
  const set = stripSet(chars);
  const cps = Array.from(s);
  let start = 0;
  while (start < cps.length && set.has(cps[start] as string)) start++;
  return cps.slice(start).join("");
}

/** Python `s.rstrip(chars=None)`; see {@link pyLstrip}. */
export function pyRstrip(s: string, chars?: string): string {
  if (chars === undefined) return s.replace(TRAILING_PY_SPACE, "");
  const set = stripSet(chars);
  const cps = Array.from(s);
  let end = cps.length;
  while (end > 0 && set.has(cps[end - 1] as string)) end--;
  return cps.slice(0, end).join("");
}

/** Python `s.strip(chars=None)`; see {@link pyLstrip}. */
export function pyStrip(s: string, chars?: string): string {
  return pyRstrip(pyLstrip(s, chars), chars);
}

/**
 * Python `s.split(sep=None, maxsplit=-1)`.
 * - `sep` undefined: split on runs of Python whitespace, dropping empty strings
 *   (`"  a  b ".split()` → `["a", "b"]`, `"".split()` → `[]`); with `maxsplit` the remainder
 *   keeps its inner whitespace but loses leading whitespace, as in CPython.
 * - `sep` given: split on every occurrence, keeping empty strings (`"".split(",")` → `[""]`).
 *   An empty `sep` is a ValueError in Python; here it throws a RangeError.
 */
export function pySplit(s: string, sep?: string, maxsplit = -1): string[] {
  if (sep !== undefined) {
    if (sep === "") throw new RangeError("pySplit: empty separator");
    const parts = s.split(sep);
    if (maxsplit < 0 || parts.length <= maxsplit + 1) return parts;
    return [...parts.slice(0, maxsplit), parts.slice(maxsplit).join(sep)];
  }
  // No maxsplit: the runs of non-whitespace, which is what CPython returns.
  if (maxsplit < 0) return s.match(PY_NON_SPACE_RUNS) ?? [];
  const out: string[] = [];
  let rest = pyLstrip(s);
  while (rest !== "") {
    if (maxsplit >= 0 && out.length === maxsplit) {
      out.push(rest);
      break;
    }
    const m = PY_SPACE_RUN.exec(rest);
    if (m === null) {
      out.push(rest);
      break;
    }
    out.push(rest.slice(0, m.index));
    rest = rest.slice(m.index + m[0].length);
  }
  return out;
}

const LOWERCASE = /\p{Lowercase}/u;
const UPPERCASE = /\p{Uppercase}/u;
const TITLECASE = /\p{Lt}/u;

/**
 * Python `s.isupper()`: False if any code point is Lowercase or titlecase (Lt); True if at
 * least one is Uppercase. Uncased strings (`"123"`, `""`, CJK) are False.
 * (CPython `unicode_isupper_impl`; the flags come from the derived Lowercase/Uppercase
 * properties, which include Other_Lowercase/Other_Uppercase such as `ª` and `Ⓐ`.)
 */
export function isUpper(s: string): boolean {
  let cased = false;
  for (const ch of s) {
    if (LOWERCASE.test(ch) || TITLECASE.test(ch)) return false;
    if (!cased && UPPERCASE.test(ch)) cased = true;
  }
  return cased;
}

/** Python `s.islower()`: the mirror image of {@link isUpper}. */
export function isLower(s: string): boolean {
  let cased = false;
  for (const ch of s) {
    if (UPPERCASE.test(ch) || TITLECASE.test(ch)) return false;
    if (!cased && LOWERCASE.test(ch)) cased = true;
  }
  return cased;
}

const ALL_ALPHA = /^\p{L}+$/u;

/** Python `s.isalpha()`: non-empty and every code point in a letter category (L*). */
export function isAlpha(s: string): boolean {
  return ALL_ALPHA.test(s);
}

/**
 * Python `s.isdigit()`: non-empty and every code point has Numeric_Type Decimal or Digit.
 * Decimal is category Nd; the Digit-but-not-Decimal code points (superscripts, circled and
 * parenthesised digits, …) have no JS property, so they are listed here — the complete list
 * from CPython 3.11 (`c.isdigit() and not c.isdecimal()`, 128 code points).
 */
const DIGIT_NOT_DECIMAL =
  "\\u00b2\\u00b3\\u00b9\\u1369-\\u1371\\u19da\\u2070\\u2074-\\u2079\\u2080-\\u2089" +
  "\\u2460-\\u2468\\u2474-\\u247c\\u2488-\\u2490\\u24ea\\u24f5-\\u24fd\\u24ff" +
  "\\u2776-\\u277e\\u2780-\\u2788\\u278a-\\u2792\\u{10a40}-\\u{10a43}\\u{10e60}-\\u{10e68}" +
  "\\u{11052}-\\u{1105a}\\u{1f100}-\\u{1f10a}";
const ALL_DIGIT = new RegExp(`^[\\p{Nd}${DIGIT_NOT_DECIMAL}]+$`, "u");

export function isDigit(s: string): boolean {
  return ALL_DIGIT.test(s);
}

/** Python `len(s)`: the number of code points (JS `.length` counts UTF-16 units). */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low surrogate is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/**
 * Python `$` without MULTILINE: the end of the text, or just before a `\n` that ends the text.
 * (JS `$` without the `m` flag matches only at the very end.)
 */
export const PY_END = "(?=\\n?$)";

/**
 * Python `$` with MULTILINE: before any `\n` or at the end. (JS `m`-flag `$` also stops
 * before `\r`, U+2028 and U+2029.)
 */
export const PY_END_MULTILINE = "(?=\\n|$)";

/**
 * Regex source matching `word` the way Python's `re.IGNORECASE` does on `str`, without using
 * the JS `i` flag. CPython compares simple lowercase mappings and adds a few equivalences
 * (`sre_compile._equivalences`): on the ASCII letters that gives `i ≡ I ≡ İ ≡ ı`,
 * `k ≡ K ≡ K (U+212A)` and `s ≡ S ≡ ſ` — JS `/iu` (simple case folding) misses `İ` and `ı`.
 * The JS `i` flag would also widen `\p{L}` classes (U+0345 folds to ι), which Python's `\w`
 * never does, so caseless literals are spelled out instead. `İ`, `ı`, `ſ` and `K` in `word`
 * get their letter's class too; other characters are regex-escaped and matched as they are —
 * exact for words of ASCII letters and punctuation, but a non-ASCII letter such as `é` would
 * also match `É` in Python and does not here.
 */
export function pyCaselessLiteral(word: string): string {
  let out = "";
  for (const ch of word) {
    const letter = CASELESS_SPECIALS[ch] ?? (/^[a-zA-Z]$/.test(ch) ? ch.toLowerCase() : undefined);
    if (letter !== undefined) {
      const extra = letter === "i" ? "\\u0130\\u0131" : letter === "k" ? "\\u212a" : letter === "s" ? "\\u017f" : "";
      out += `[${letter}${letter.toUpperCase()}${extra}]`;
    } else {
      out += ch.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
    }
  }
  return out;
}

/** The non-ASCII members of CPython's ignore-case classes of ASCII letters. */
const CASELESS_SPECIALS: Readonly<Record<string, string>> = { "\u0130": "i", "\u0131": "i", "\u212a": "k", "\u017f": "s" };
