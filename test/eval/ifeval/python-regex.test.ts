/** Python `re` patterns on JavaScript: hand-checked against CPython 3.11 semantics (spec §5.1). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { PythonRegex, PythonRegexError, translatePythonRegex } from "../../../src/eval/ifeval/python-regex.ts";
import { pythonJsonLoads } from "../../../src/eval/ifeval/python-json.ts";

const findall = (p: string, s: string, flags = {}) => new PythonRegex(p, flags).findall(s);
const search = (p: string, s: string, flags = {}) => new PythonRegex(p, flags).search(s);

test("\\w, \\d, \\s and \\b are Unicode, as in Python", () => {
  assert.deepEqual(findall(String.raw`\w+`, "naïve café 4² x_y"), ["naïve", "café", "4²", "x_y"]);
  assert.deepEqual(findall(String.raw`\w+`, "cafe\u0301s"), ["cafe", "s"], "combining marks are not \\w");
  assert.deepEqual(findall(String.raw`\d+`, "١٢ and 34 and ²"), ["١٢", "34"], "\\d is Nd: superscripts are not");
  assert.deepEqual(findall(String.raw`\s`, "a\x1cb\x85c\ufeffd\u00a0e"), ["\x1c", "\x85", "\u00a0"], "U+FEFF is not \\s; U+001C and U+0085 are");
  assert.equal(search(String.raw`\bcaf\b`, "café"), false);
  assert.equal(search(String.raw`\bwar\b`, "war\u0301"), true);
  assert.deepEqual(findall(String.raw`\W+`, "a, b"), [", "]);
  assert.deepEqual(findall(String.raw`\S+`, "a\x85b c"), ["a", "b", "c"]);
  assert.deepEqual(findall(String.raw`\Bb`, "ab b"), ["b"]);
});

test(". matches everything but \\n; MULTILINE anchors break only at \\n", () => {
  assert.deepEqual(findall(String.raw`\[.*?\]`, "[a\rb] [c\u2028d] [e\nf]"), ["[a\rb]", "[c\u2028d]"]);
  assert.deepEqual(findall(String.raw`^\w`, "a\rb\nc", { multiline: true }), ["a", "c"]);
  assert.deepEqual(findall(String.raw`\w$`, "a\rb\nc", { multiline: true }), ["b", "c"]);
  assert.deepEqual(findall(".", "a\nb", { dotAll: true }), ["a", "\n", "b"]);
});

test("$ without MULTILINE also matches before a final newline; \\A and \\Z only at the edges", () => {
  assert.equal(search("b$", "ab\n"), true);
  assert.equal(search("b$", "ab\n\n"), false);
  assert.equal(search(String.raw`b\Z`, "ab\n"), false);
  assert.equal(search(String.raw`\Aa`, "ba\na"), false);
  assert.equal(search("^a", "b\na"), false);
});

test("IGNORECASE folds Unicode case", () => {
  assert.equal(search("école", "UNE ÉCOLE", { ignoreCase: true }), true);
  assert.equal(search("(?i)straße", "STRASSE"), false, "simple case folding: ß is not ss");
  assert.equal(search("(?i)ΣΑΣ", "σας"), true);
  // Python makes i, I, İ (U+0130) and ı (U+0131) equal under IGNORECASE; JS /iu pairs only i and I.
  for (const p of ["i", "I", "\u0130", "\u0131", "[i]", "[\u0131x]", String.raw`\u0130`]) {
    assert.deepEqual(["i", "I", "\u0130", "\u0131"].filter((s) => search(p, s, { ignoreCase: true })), ["i", "I", "\u0130", "\u0131"], p);
  }
  assert.equal(search("İstanbul", "ISTANBUL", { ignoreCase: true }), true);
  assert.equal(search("i", "\u0130"), false, "only under IGNORECASE");
});

test("Python escapes and literals that JavaScript's u-mode rejects are translated", () => {
  assert.equal(search(String.raw`\,`, "a,b"), true);
  assert.equal(search(String.raw`a{`, "a{"), true, "a lone { is a literal");
  assert.equal(search(String.raw`{x}`, "{x}"), true);
  assert.deepEqual(findall(String.raw`a{,2}`, "aaa"), ["aa", "a", ""], "{,n} is {0,n}");
  assert.equal(search("]", "a]"), true);
  assert.equal(search("[]a]", "]"), true, "] first in a class is a literal");
  assert.equal(search("[^]a]", "]a"), false);
  assert.equal(search(String.raw`[\w-]+$`, "ab-c"), true);
  assert.equal(search(String.raw`[\s,]`, "\x85"), true);
  assert.equal(search(String.raw`\x41\u00e9\U0001F600\101`, "Aé😀A"), true);
  assert.equal(search(String.raw`\0`, "\0"), true);
  assert.equal(search(String.raw`(a)\1`, "aa"), true);
  assert.equal(search(String.raw`(?P<x>a)(?P=x)`, "aa"), true);
  assert.equal(search(String.raw`a(?#comment)b`, "ab"), true);
  assert.equal(search("a/b", "a/b"), true);
  assert.equal(search(String.raw`[\b]`, "\b"), true, "\\b in a class is a backspace");
  assert.equal(translatePythonRegex("(?im)x").ignoreCase, true);
});

test("re.split keeps empty pieces; findall is non-overlapping", () => {
  assert.deepEqual(new PythonRegex(String.raw`\s?\*\*\*\s?`).split("a ****** b"), ["a", "", "b"]);
  assert.deepEqual(new PythonRegex(String.raw`\n\n`).split("\n\nA\n\n\n"), ["", "A", "\n"]);
  assert.deepEqual(findall("aa", "aaaaa"), ["aa", "aa"]);
});

test("constructs without a JavaScript equivalent, and invalid patterns, raise", () => {
  for (const p of [String.raw`\q`, "(?x)a b", "(?i:a)", "(?>a)", "a*+", String.raw`\N{DASH}`, String.raw`[\W]`, "(", "[a", String.raw`\x4`, "(?(1)a|b)"]) {
    assert.throws(() => new PythonRegex(p), PythonRegexError, p);
  }
});

test("json.loads: RFC JSON, any top-level value, NaN and ±Infinity; no BOM, no raw control characters", () => {
  const accepted = ['{"a": [1, 2.5e3, true, null]}', "42", '"x"', "NaN", "-Infinity", "[Infinity, NaN]", ' \t\n{"NaN": NaN}\r\n', '["a\\"", NaN]', "1e400"];
  const refused = ["", "{'a': 1}", "[1,]", "\ufeff{}", '"a\tb"', "[1NaN]", "-NaN", "nan", "infinity", "{NaN: 1}", "[1] x", "\u00a0{}", "[+1]", "[01]"];
  for (const s of accepted) assert.equal(pythonJsonLoads(s), true, JSON.stringify(s));
  for (const s of refused) assert.equal(pythonJsonLoads(s), false, JSON.stringify(s));
});
