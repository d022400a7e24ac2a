/**
 * Whether Python's `json.loads(text)` would accept a string.
 *
 * `json.loads` is RFC 8259 JSON (any top-level value, only ` \t\n\r` as whitespace, no raw
 * control characters inside strings, a leading BOM refused) plus three extra literals: `NaN`,
 * `Infinity` and `-Infinity`. `JSON.parse` agrees on everything but those literals, so they are
 * replaced by a padded `0` before `JSON.parse` sees the text. The padding keeps token borders:
 * `1NaN` becomes `1 0 `, which is still invalid, as it is in Python.
 */

const PY_ONLY_LITERALS = ["-Infinity", "Infinity", "NaN"] as const;

/** Replace Python's extra literals outside strings; everything else is left untouched. */
function replacePythonLiterals(text: string): string {
  if (!text.includes("NaN") && !text.includes("Infinity")) return text;
  let out = "";
  let inString = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === "\\") {
        // The escaped character is copied as is; JSON.parse judges the escape itself.
        if (i + 1 < text.length) out += text[i + 1];
        i += 2;
        continue;
      }
      if (c === '"') inString = false;
      i += 1;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      i += 1;
      continue;
    }
    const literal = PY_ONLY_LITERALS.find((lit) => text.startsWith(lit, i));
    if (literal !== undefined) {
      out += " 0 ";
      i += literal.length;
      continue;
    }
    out += c;
    i += 1;
  }
  return out;
}

/** True iff CPython's `json.loads(text)` returns without raising. */
export function pythonJsonLoads(text: string): boolean {
  try {
    JSON.parse(replacePythonLiterals(text));
    return true;
  } catch {
    return false;
  }
}
