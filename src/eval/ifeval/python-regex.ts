/**
 * Python `re` patterns, run on JavaScript RegExp.
 *
 * IFEval's checkers are Python `re` calls, and two of them insert text from the prompt file
 * (keywords, section spliters) into a pattern *unescaped*, so those strings are Python regexes.
 * JavaScript's RegExp looks alike but means different things: `\w`, `\s`, `\d` and `\b` are
 * ASCII-only, `.` also stops at `\r`, MULTILINE anchors also break at `\r`, `$` without
 * MULTILINE does not match before a final newline, and with the `u` flag many Python escapes
 * (`\,`, a lone `{`) are syntax errors. No npm library translates Python regex syntax, so this
 * module does it, one token at a time, with the Python-compatible class fragments of
 * `src/text/python-str.ts`. The resulting RegExp always has the `u` flag and never the `m` or `s`
 * flag: anchors and `.` are spelled out instead.
 *
 * Supported: everything in Python's `re` syntax except the constructs JavaScript cannot
 * express, which raise a {@link PythonRegexError}: verbose mode `(?x)`, ASCII/locale mode
 * `(?a)` `(?L)`, scoped flags `(?i:…)`, conditionals `(?(1)…)`, atomic groups, possessive
 * quantifiers, `\N{…}`, and `\W`/`\S` inside a character class.
 */
import { KieloError } from "../../util/errors.ts";
import {
  PY_D,
  PY_DOT,
  PY_NOT_D,
  PY_NOT_S,
  PY_NOT_W,
  PY_NOT_WORD_BOUNDARY,
  PY_S,
  PY_SPACE_CLASS_BODY,
  PY_W,
  PY_WORD_BOUNDARY,
  PY_WORD_CLASS_BODY,
} from "../../text/python-str.ts";

export interface PythonRegexFlags {
  /** `re.IGNORECASE` (Unicode simple case folding, as JS `/iu`). */
  ignoreCase?: boolean;
  /** `re.MULTILINE`: `^`/`$` also at `\n` (and only at `\n`). */
  multiline?: boolean;
  /** `re.DOTALL`: `.` also matches `\n`. */
  dotAll?: boolean;
}

/** A pattern that is not valid Python, or that JavaScript cannot express. */
export class PythonRegexError extends KieloError {
  constructor(pattern: string, reason: string) {
    super(`cannot use ${JSON.stringify(pattern)} as a Python regular expression: ${reason}`);
    this.name = "PythonRegexError";
  }
}

/** Characters that must be escaped to be literal outside a class in a `u`-mode RegExp. */
const JS_SYNTAX = new Set(Array.from("^$\\.*+?()[]{}|/"));
/** Escapes Python accepts for an ASCII letter (other letters are "bad escape" errors). */
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { n: "\\n", t: "\\t", r: "\\r", f: "\\f", v: "\\v", a: "\\x07" };
const HEX = /^[0-9a-fA-F]+$/;
const OCTAL_DIGIT = /^[0-7]$/;
const QUANTIFIER_BRACES = /^\{(\d*)(?:(,)(\d*))?\}/;

function codePointEscape(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

function literalOutsideClass(ch: string): string {
  return JS_SYNTAX.has(ch) ? `\\${ch}` : ch;
}

/**
 * Under IGNORECASE Python compares *simple lowercase* (plus a table of extra equivalences), JS
 * `/iu` compares simple case folding. They disagree on one family: Python makes `i`, `I`, `İ`
 * (U+0130, lowercase `i`) and `ı` (U+0131, listed with `i`) all equal; JS only pairs `i`/`I`.
 * Literal occurrences are widened to the four; ranges such as `[a-z]` are not (a known limit).
 */
const DOTTED_I_FAMILY = new Set(["i", "I", "\u0130", "\u0131"]);
const DOTTED_I_CLASS_BODY = "iI\u0130\u0131";

function literalInsideClass(ch: string): string {
  return ch === "\\" || ch === "]" || ch === "[" || ch === "-" || ch === "^" ? `\\${ch}` : ch;
}

/** Translate a Python pattern to the source of an equivalent `u`-mode JavaScript RegExp. */
export function translatePythonRegex(pattern: string, flags: PythonRegexFlags = {}): { source: string; ignoreCase: boolean } {
  const cps = Array.from(pattern);
  let multiline = flags.multiline ?? false;
  let dotAll = flags.dotAll ?? false;
  let ignoreCase = flags.ignoreCase ?? false;
  /** A literal code point (given as its RegExp spelling), widened for Python's IGNORECASE. */
  // Where a literal is being written: outside a class, inside one, or inside a class with a
  // range (`[g-j]`), where widening a range endpoint would change the range, so it is left alone.
  let literalContext: "outside" | "class" | "class-with-range" = "outside";
  const caseless = (spelling: string, cp: number): string => {
    if (!ignoreCase || literalContext === "class-with-range" || !DOTTED_I_FAMILY.has(String.fromCodePoint(cp))) return spelling;
    return literalContext === "class" ? DOTTED_I_CLASS_BODY : `[${DOTTED_I_CLASS_BODY}]`;
  };
  const fail = (reason: string): never => {
    throw new PythonRegexError(pattern, reason);
  };
  let out = "";
  let i = 0;

  // Global inline flags, which Python 3.11 only accepts at the very start: `(?im)abc`.
  const leadingFlags = /^\(\?([aiLmsux]+)\)/.exec(pattern);
  if (leadingFlags) {
    for (const f of leadingFlags[1]!) {
      if (f === "i") ignoreCase = true;
      else if (f === "m") multiline = true;
      else if (f === "s") dotAll = true;
      else if (f !== "u") fail(`inline flag (?${f}) has no JavaScript equivalent`);
    }
    i = Array.from(leadingFlags[0]).length;
  }

  /** Read a numeric escape body (`\x`, `\u`, `\U`) of exactly `n` hex digits after index `at`. */
  const hexEscape = (at: number, n: number): number => {
    const digits = cps.slice(at, at + n).join("");
    if (digits.length !== n || !HEX.test(digits)) fail(`incomplete escape at position ${at}`);
    return Number.parseInt(digits, 16);
  };

  const isOctal = (ch: string | undefined): boolean => ch !== undefined && OCTAL_DIGIT.test(ch);
  const octalLiteral = (digits: string): string => {
    const cp = Number.parseInt(digits, 8);
    if (cp > 0o377) fail(`octal escape \\${digits} out of range`);
    return caseless(codePointEscape(cp), cp);
  };
  /** `\0`, `\NNN` (three octal digits) or a group reference `\N` / `\NN` (sre_parse `_escape`). */
  const digitEscape = (c: string): string => {
    if (c === "0") {
      let digits = "0";
      while (digits.length < 3 && isOctal(cps[i])) digits += cps[i++];
      return octalLiteral(digits);
    }
    let digits = c;
    if (/^[0-9]$/.test(cps[i] ?? "")) {
      digits += cps[i++];
      if (isOctal(digits[0]) && isOctal(digits[1]) && isOctal(cps[i])) return octalLiteral(digits + cps[i++]);
    }
    return `\\${digits}`;
  };
  /** Inside a class only octal escapes exist (sre_parse `_class_escape`). */
  const classDigitEscape = (c: string): string => {
    if (!isOctal(c)) return fail(`bad escape \\${c} in a character class`);
    let digits = c;
    while (digits.length < 3 && isOctal(cps[i])) digits += cps[i++];
    return octalLiteral(digits);
  };

  /** Translate the escape starting at `cps[i] === "\\"` and move `i` past it. */
  const escape = (inClass: boolean): string => {
    const c = cps[i + 1];
    if (c === undefined) return fail("pattern ends with a backslash");
    i += 2;
    switch (c) {
      case "w":
        return inClass ? PY_WORD_CLASS_BODY : PY_W;
      case "s":
        return inClass ? PY_SPACE_CLASS_BODY : PY_S;
      case "d":
        return PY_D;
      case "D":
        return PY_NOT_D;
      case "W":
        return inClass ? fail("\\W inside a character class is not supported") : PY_NOT_W;
      case "S":
        return inClass ? fail("\\S inside a character class is not supported") : PY_NOT_S;
      case "b":
        return inClass ? "\\x08" : PY_WORD_BOUNDARY;
      case "B":
        return inClass ? fail("bad escape \\B in a character class") : PY_NOT_WORD_BOUNDARY;
      case "A":
        return inClass ? fail("bad escape \\A in a character class") : "^";
      case "Z":
        return inClass ? fail("bad escape \\Z in a character class") : "$";
      case "x": {
        const cp = hexEscape(i, 2);
        i += 2;
        return caseless(codePointEscape(cp), cp);
      }
      case "u": {
        const cp = hexEscape(i, 4);
        i += 4;
        return caseless(codePointEscape(cp), cp);
      }
      case "U": {
        const cp = hexEscape(i, 8);
        if (cp > 0x10ffff) fail(`bad escape \\U${cps.slice(i, i + 8).join("")}`);
        i += 8;
        return caseless(codePointEscape(cp), cp);
      }
      case "N":
        return fail("named characters (\\N{…}) are not supported");
    }
    const simple = SIMPLE_ESCAPES[c];
    if (simple !== undefined) return simple;
    if (/^[0-9]$/.test(c)) return inClass ? classDigitEscape(c) : digitEscape(c);
    if (/^[A-Za-z]$/.test(c)) return fail(`bad escape \\${c}`);
    // Any other escaped character is itself.
    return caseless(inClass ? literalInsideClass(c) : literalOutsideClass(c), c.codePointAt(0)!);
  };

  while (i < cps.length) {
    const c = cps[i]!;
    if (c === "\\") {
      out += escape(false);
      continue;
    }
    if (c === "[") {
      i += 1;
      let body = "";
      if (cps[i] === "^") {
        body += "^";
        i += 1;
      }
      // A `]` right after `[` or `[^` is a literal in Python (in JS, `[]` is the empty class).
      if (cps[i] === "]") {
        body += "\\]";
        i += 1;
      }
      let closed = false;
      const close = cps.indexOf("]", i);
      literalContext = cps.slice(i, close < 0 ? undefined : close).includes("-") ? "class-with-range" : "class";
      while (i < cps.length) {
        const d = cps[i]!;
        if (d === "]") {
          closed = true;
          i += 1;
          break;
        }
        if (d === "\\") {
          body += escape(true);
          continue;
        }
        body += d === "[" ? "\\[" : caseless(d, d.codePointAt(0)!);
        i += 1;
      }
      literalContext = "outside";
      if (!closed) fail("unterminated character set");
      out += `[${body}]`;
      continue;
    }
    if (c === "(") {
      if (cps[i + 1] !== "?") {
        out += "(";
        i += 1;
        continue;
      }
      const rest = cps.slice(i, i + 4).join("");
      if (rest.startsWith("(?:") || rest.startsWith("(?=") || rest.startsWith("(?!")) {
        out += rest.slice(0, 3);
        i += 3;
      } else if (rest.startsWith("(?<=") || rest.startsWith("(?<!")) {
        out += rest;
        i += 4;
      } else if (rest.startsWith("(?P<")) {
        out += "(?<";
        i += 4;
      } else if (rest.startsWith("(?P=")) {
        const close = cps.indexOf(")", i);
        if (close < 0) fail("unterminated group reference");
        out += `\\k<${cps.slice(i + 4, close).join("")}>`;
        i = close + 1;
      } else if (rest.startsWith("(?#")) {
        const close = cps.indexOf(")", i);
        if (close < 0) fail("unterminated comment");
        i = close + 1;
      } else {
        fail(`the group syntax at position ${i} (${rest}…) has no JavaScript equivalent`);
      }
      continue;
    }
    if (c === "{") {
      const m = QUANTIFIER_BRACES.exec(cps.slice(i, i + 40).join(""));
      if (m && !(m[1] === "" && m[2] === undefined)) {
        // `{,n}` is `{0,n}` in Python; JS needs the explicit zero.
        out += `{${m[1] === "" ? "0" : m[1]}${m[2] ?? ""}${m[3] ?? ""}}`;
        i += m[0].length;
      } else {
        out += "\\{";
        i += 1;
      }
      continue;
    }
    if (c === "}" || c === "]") {
      out += `\\${c}`;
      i += 1;
      continue;
    }
    if (c === ".") out += dotAll ? "[\\s\\S]" : PY_DOT;
    else if (c === "^") out += multiline ? "(?<![^\\n])" : "^";
    // Without MULTILINE, Python's `$` also matches right before a final newline.
    else if (c === "$") out += multiline ? "(?![^\\n])" : "(?=\\n?$)";
    else if (c === "/") out += "\\/";
    else out += caseless(c, c.codePointAt(0)!);
    i += 1;
  }
  return { source: out, ignoreCase };
}

/** A compiled Python pattern with the `re` functions IFEval uses. */
export class PythonRegex {
  readonly pattern: string;
  /** For `search`/`findall`: global so that matchAll walks non-overlapping matches. */
  private readonly global: RegExp;

  constructor(pattern: string, flags: PythonRegexFlags = {}) {
    this.pattern = pattern;
    const { source, ignoreCase } = translatePythonRegex(pattern, flags);
    try {
      this.global = new RegExp(source, ignoreCase ? "giu" : "gu");
    } catch (error) {
      throw new PythonRegexError(pattern, (error as Error).message);
    }
  }

  /** `re.search(p, text) is not None`. */
  search(text: string): boolean {
    this.global.lastIndex = 0;
    return this.global.test(text);
  }

  /**
   * The whole-match strings of `re.findall` (non-overlapping, left to right). Python's findall
   * returns groups instead of whole matches when the pattern has groups; IFEval only counts
   * them or uses patterns without groups, so whole matches serve both.
   */
  findall(text: string): string[] {
    return Array.from(text.matchAll(this.global), (m) => m[0]);
  }

  /**
   * `re.split(p, text)`: every piece, empty ones included, plus captured groups like Python.
   * Equal to Python for patterns that cannot match the empty string (all of IFEval's split
   * patterns end in `\d+`, `\*\*\*` or `\n\n`); Python also splits on empty matches.
   */
  split(text: string): string[] {
    return text.split(this.global);
  }
}
