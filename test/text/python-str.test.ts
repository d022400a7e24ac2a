// src/text/python-str.ts: hand-checked cases, then CPython itself as a peer — every assigned code
// point for the character classes and predicates, and a batch of strings for strip/split/len/\b.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { before, describe, it } from "node:test";
import {
  codePointLength,
  isAlpha,
  isDigit,
  isLower,
  isPySpace,
  isUpper,
  PY_D,
  PY_DOT,
  PY_END,
  PY_END_MULTILINE,
  PY_NOT_S,
  PY_NOT_W,
  PY_S,
  PY_W,
  PY_WORD_BOUNDARY,
  PY_NOT_WORD_BOUNDARY,
  pyCaselessLiteral,
  pyLstrip,
  pyRstrip,
  pySplit,
  pyStrip,
} from "../../src/text/python-str.ts";

describe("Python str helpers (hand-checked)", () => {
  it("strip uses Python's whitespace set, not JS trim()'s", () => {
    assert.equal(pyStrip("\x1c\x85 a b\u3000\n"), "a b");
    assert.equal(pyStrip("\ufeffa\ufeff"), "\ufeffa\ufeff"); // U+FEFF is not Python whitespace
    assert.equal(pyLstrip("  a  "), "a  ");
    assert.equal(pyRstrip("  a  "), "  a");
    assert.equal(pyStrip("xx*a.b*xx", "x*"), "a.b");
    assert.equal(pyStrip("😀a😀", "😀"), "a");
    assert.equal(pyStrip(""), "");
  });

  it("split without sep drops empty strings; with sep keeps them", () => {
    assert.deepEqual(pySplit("  a \x1f b\u2028c  "), ["a", "b", "c"]);
    assert.deepEqual(pySplit(""), []);
    assert.deepEqual(pySplit("   "), []);
    assert.deepEqual(pySplit("  a  b  c ", undefined, 1), ["a", "b  c "]);
    assert.deepEqual(pySplit("a,,b,", ","), ["a", "", "b", ""]);
    assert.deepEqual(pySplit("", ","), [""]);
    assert.deepEqual(pySplit("a,b,c", ",", 1), ["a", "b,c"]);
    assert.throws(() => pySplit("a", ""), RangeError);
  });

  it("isupper/islower need a cased character and no character of the other case", () => {
    assert.equal(isUpper("HELLO 123!"), true);
    assert.equal(isUpper("123"), false);
    assert.equal(isUpper(""), false);
    assert.equal(isUpper("ǅ"), false); // titlecase (Lt) is neither
    assert.equal(isUpper("Ⓐ"), true); // Other_Uppercase
    assert.equal(isLower("hello ß 1"), true);
    assert.equal(isLower("ª"), true); // Other_Lowercase
    assert.equal(isLower("中文"), false);
    assert.equal(isLower("abC"), false);
  });

  it("isalpha, isdigit, isspace, len", () => {
    assert.equal(isAlpha("Ääkkönen"), true);
    assert.equal(isAlpha("e\u0301"), false); // combining mark (Mn) is not alpha
    assert.equal(isAlpha(""), false);
    assert.equal(isDigit("²①٣"), true);
    assert.equal(isDigit("½"), false); // numeric, not a digit
    assert.equal(isDigit(""), false);
    assert.equal(isPySpace("\x1c\x85"), true);
    assert.equal(isPySpace("\ufeff"), false);
    assert.equal(codePointLength("a😀b"), 3);
    assert.equal(codePointLength("\ud800x"), 2); // a lone surrogate is one code point
  });

  it("regex fragments behave like Python's classes", () => {
    assert.deepEqual("añb_1 ١²".match(new RegExp(`${PY_W}+`, "gu")), ["añb_1", "١²"]);
    assert.deepEqual("a\u0301b".match(new RegExp(`${PY_W}+`, "gu")), ["a", "b"]);
    assert.deepEqual("a-b".match(new RegExp(PY_NOT_W, "gu")), ["-"]);
    assert.deepEqual("1 ٣ ²".match(new RegExp(PY_D, "gu")), ["1", "٣"]);
    assert.deepEqual("a\x1cb\ufeffc".split(new RegExp(PY_S, "u")), ["a", "b\ufeffc"]);
    assert.deepEqual("a b".match(new RegExp(`${PY_NOT_S}`, "gu")), ["a", "b"]);
    assert.deepEqual("a\rb\nc".match(new RegExp(`${PY_DOT}+`, "gu")), ["a\rb", "c"]);
    assert.deepEqual("on yö".replace(new RegExp(PY_WORD_BOUNDARY, "gu"), "|"), "|on| |yö|");
    assert.equal(new RegExp(`${PY_WORD_BOUNDARY}ö`, "u").test("aö"), false);
    assert.equal(new RegExp(`a${PY_NOT_WORD_BOUNDARY}ö`, "u").test("aö"), true);
    assert.equal(new RegExp(`b${PY_END}`, "u").test("ab\n"), true);
    assert.equal(new RegExp(`b${PY_END}`, "u").test("ab\n\n"), false);
    assert.equal(new RegExp(`b${PY_END_MULTILINE}`, "u").test("ab\nc"), true);
    assert.equal(new RegExp(`b${PY_END_MULTILINE}`, "u").test("ab\rc"), false);
  });

  it("pyCaselessLiteral matches what Python's IGNORECASE matches", () => {
    const cannot = new RegExp(`^${pyCaselessLiteral("can't")}$`, "u");
    assert.ok(cannot.test("CAN'T") && cannot.test("cAn't"));
    const tis = new RegExp(`^${pyCaselessLiteral("is")}$`, "u");
    assert.ok(tis.test("ıs") && tis.test("İS") && tis.test("iſ"));
    assert.equal(new RegExp(`^${pyCaselessLiteral("k")}$`, "u").test("\u212a"), true);
    assert.equal(new RegExp(`^${pyCaselessLiteral("a.b")}$`, "u").test("axb"), false);
  });
});

// Code points whose derived Lowercase property changed in Unicode 15.0 (Other_Lowercase added):
// CPython 3.11 uses Unicode 14.0, Node's ICU a newer Unicode, so `islower` differs on exactly these.
const UNICODE_15_LOWERCASE_ADDITIONS = [0x0295, 0x10fc, 0xa7f2, 0xa7f3, 0xa7f4, 0xab69];

interface PeerString {
  strip: string;
  lstrip: string;
  rstrip: string;
  strip_chars: string;
  split: string[];
  split_max1: string[];
  split_sep: Record<string, string[]>;
  isupper: boolean;
  islower: boolean;
  isalpha: boolean;
  isdigit: boolean;
  len: number;
  boundaries: number[];
}

interface PeerAnswer {
  python: string;
  unicode: string;
  classes: Record<string, [number, number][]>;
  strings: PeerString[];
  caseless: boolean[][];
}

const STRINGS = [
  "", " ", "  a  b  ", "\x1c\x1d\x1e\x1fa\x85\xa0", "\ufeffa\ufeff", "HELLO", "Hello", "hello", "ǅemal", "ΣΑΣ", "ß",
  "123", "١٢٣", "²³", "½", "x*. ", "*.x.a.*", "a\u2028b\u2029c", "😀 😀", "𝐀𝐁", "a\u0301", "İı", "ABC def",
  "don't stop", "a_b c-d", "  lead", "trail  ", "\t\n\v\f\r", "e.g. U.S. 3.14", "中文 English", "\u3000x\u3000",
];
const SEPARATORS = [",", " ", "a", "\n", ". "];
const CASELESS_WORDS = ["is", "K", "ſ", "İ", "ı", "\u212a", "a.b", "can't", "gimme", "S.", "x(y)"];
const CASELESS_CANDIDATES = [
  "IS", "ıs", "İS", "iſ", "k", "K", "\u212a", "s", "S", "ſ", "i", "I", "ı", "İ", "a.b", "A.B", "axb", "CAN'T",
  "GİMME", "gımme", "ß", "SS", "ẞ", "é", "É",
];

function rangesToSet(ranges: [number, number][]): Set<number> {
  const set = new Set<number>();
  for (const [first, last] of ranges) for (let cp = first; cp <= last; cp++) set.add(cp);
  return set;
}

describe("Python str helpers agree with CPython", () => {
  let peer: PeerAnswer;

  before(() => {
    const python = process.env.KIELO_PYTHON ?? fileURLToPath(new URL("../../.venv/bin/python", import.meta.url));
    const run = spawnSync(python, [fileURLToPath(new URL("./python_peer.py", import.meta.url))], {
      input: JSON.stringify({ strings: STRINGS, separators: SEPARATORS, words: CASELESS_WORDS, candidates: CASELESS_CANDIDATES }),
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    if (run.error !== undefined) throw run.error;
    assert.equal(run.status, 0, run.stderr);
    peer = JSON.parse(run.stdout) as PeerAnswer;
  });

  it("on every code point assigned in CPython's Unicode database", () => {
    const w = new RegExp(`^${PY_W}$`, "u");
    const d = new RegExp(`^${PY_D}$`, "u");
    const s = new RegExp(`^${PY_S}$`, "u");
    const mine: Record<string, (c: string) => boolean> = {
      isupper: isUpper,
      islower: isLower,
      isalpha: isAlpha,
      isdigit: isDigit,
      isspace: isPySpace,
      w: (c) => w.test(c),
      d: (c) => d.test(c),
      s: (c) => s.test(c),
    };
    const assigned = rangesToSet(peer.classes.assigned ?? []);
    assert.ok(assigned.size > 280_000, `${assigned.size} assigned code points`);
    for (const [name, predicate] of Object.entries(mine)) {
      const expected = rangesToSet(peer.classes[name] ?? []);
      const differ: number[] = [];
      for (const cp of assigned) {
        if (predicate(String.fromCodePoint(cp)) !== expected.has(cp)) differ.push(cp);
      }
      const allowed = name === "islower" && peer.unicode === "14.0.0" ? UNICODE_15_LOWERCASE_ADDITIONS : [];
      assert.deepEqual(
        differ.filter((cp) => !allowed.includes(cp)).map((cp) => `U+${cp.toString(16).toUpperCase()}`),
        [],
        `${name} (CPython ${peer.python}, Unicode ${peer.unicode})`,
      );
    }
  });

  it("on strip, split, isupper, islower, isalpha, isdigit, len and \\b positions", () => {
    const boundary = new RegExp(PY_WORD_BOUNDARY, "gu");
    STRINGS.forEach((str, i) => {
      const py = peer.strings[i] as PeerString;
      const label = JSON.stringify(str);
      assert.equal(pyStrip(str), py.strip, `strip ${label}`);
      assert.equal(pyLstrip(str), py.lstrip, `lstrip ${label}`);
      assert.equal(pyRstrip(str), py.rstrip, `rstrip ${label}`);
      assert.equal(pyStrip(str, "*. x"), py.strip_chars, `strip chars ${label}`);
      assert.deepEqual(pySplit(str), py.split, `split ${label}`);
      assert.deepEqual(pySplit(str, undefined, 1), py.split_max1, `split maxsplit=1 ${label}`);
      for (const sep of SEPARATORS) assert.deepEqual(pySplit(str, sep), py.split_sep[sep], `split ${JSON.stringify(sep)} ${label}`);
      assert.equal(isUpper(str), py.isupper, `isupper ${label}`);
      assert.equal(isLower(str), py.islower, `islower ${label}`);
      assert.equal(isAlpha(str), py.isalpha, `isalpha ${label}`);
      assert.equal(isDigit(str), py.isdigit, `isdigit ${label}`);
      assert.equal(codePointLength(str), py.len, `len ${label}`);
      const positions = [...str.matchAll(boundary)].map((m) => codePointLength(str.slice(0, m.index)));
      assert.deepEqual(positions, py.boundaries, `\\b ${label}`);
    });
  });

  it("pyCaselessLiteral matches exactly what (?i) matches for ASCII-letter words", () => {
    CASELESS_WORDS.forEach((word, w) => {
      const mine = new RegExp(`^${pyCaselessLiteral(word)}$`, "u");
      CASELESS_CANDIDATES.forEach((candidate, c) => {
        assert.equal(mine.test(candidate), peer.caseless[w]?.[c], `(?i)${word} vs ${candidate}`);
      });
    });
  });
});
