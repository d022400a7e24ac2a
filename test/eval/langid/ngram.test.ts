// langdetect's character layer: normalisation and upper case over every code point against the
// reference, plus hand-checked cases of text preparation and n-gram extraction.
import assert from "node:assert/strict";
import { test } from "node:test";
import { appendText, cleaningText, loadLangDetectModel } from "../../../src/eval/langid/langdetect.ts";
import { parseMessages } from "../../../src/eval/langid/messages.ts";
import { buildGramIndex } from "../../../src/eval/langid/gram-index.ts";
import { extractNgrams, isUpperPython, normalizeChar, normalizeVi } from "../../../src/eval/langid/ngram.ts";
import { InputError } from "../../../src/util/errors.ts";
import { runPythonPeer } from "./peer.ts";

const model = loadLangDetectModel();
const { tables, bmp } = model;
const codePoints = (text: string): number[] => Array.from(text, (ch) => ch.codePointAt(0) as number);
const fromCodePoints = (cps: readonly number[]): string => String.fromCodePoint(...cps);
/** Every gram extraction yields for `text`: indexed against all substrings of " " + its normalised characters. */
function allGrams(text: string): string[] {
  const stream = [0x20, ...codePoints(text).map((cp) => normalizeChar(cp, tables))];
  const vocabulary = new Set<string>();
  for (let start = 0; start < stream.length; start++) {
    for (let n = 1; n <= 3 && start + n <= stream.length; n++) vocabulary.add(fromCodePoints(stream.slice(start, start + n)));
  }
  const words = [...vocabulary];
  return extractNgrams(codePoints(text), tables, bmp, buildGramIndex(words)).map((row) => words[row] as string);
}

test("NGram.normalize and str.isupper agree with the reference on every code point", () => {
  const reference = runPythonPeer<{ changed: Array<[number, number]>; upper: number[] }>({ mode: "normalize" });
  const expectedChange = new Map(reference.changed);
  const upper = new Set(reference.upper);
  const normalizeDiffs: string[] = [];
  const upperDiffs: string[] = [];
  for (let cp = 0; cp < 0x110000; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const expected = expectedChange.get(cp) ?? cp;
    if (normalizeChar(cp, tables) !== expected) normalizeDiffs.push(cp.toString(16));
    if (cp < 0x10000 && bmp.normalized[cp] !== expected) normalizeDiffs.push(`bmp ${cp.toString(16)}`);
    if (isUpperPython(cp) !== upper.has(cp)) upperDiffs.push(cp.toString(16));
  }
  assert.deepEqual(normalizeDiffs, []);
  assert.deepEqual(upperDiffs, []);
  assert.ok(expectedChange.size > 6000, "the CJK map alone changes thousands of characters");
});

test("append: URLs and e-mail addresses become a space, runs of spaces collapse", () => {
  assert.equal(fromCodePoints(appendText("see https://example.com/a?b=1 now", tables)), "see now");
  assert.equal(fromCodePoints(appendText("mail me: first.last@mail-host.example.org!", tables)), "mail me: !");
  assert.equal(fromCodePoints(appendText("  a   b  ", tables)), " a b ");
  // Only spaces collapse; a tab or newline is kept as it is.
  assert.equal(fromCodePoints(appendText("a \n\n b", tables)), "a \n\n b");
});

test("append: only the first 10,000 characters (code points, not UTF-16 units) are kept", () => {
  assert.equal(appendText("a".repeat(10_050), tables).length, 10_000);
  const astral = appendText("😀".repeat(10_010), tables);
  assert.equal(astral.length, 10_000);
  // Collapsing happens while cutting, so collapsed spaces still count towards the 10,000.
  assert.equal(appendText("a  ".repeat(4000), tables).length, 6667);
});

test("normalize_vi: a vowel plus a combining mark becomes the precomposed letter", () => {
  assert.equal(normalizeVi("Vi\u00ea\u0323t", tables), "Vi\u1ec7t");
  assert.equal(normalizeVi("a\u0301 e\u0300 o\u0303 u\u0309 y\u0323", tables), "á è õ ủ ỵ");
  assert.equal(normalizeVi("\u00e2\u0301", tables), "ấ");
  // Only the five marks of DMARK_CLASS are composed.
  assert.equal(normalizeVi("a\u0302", tables), "a\u0302");
});

test("cleaning_text: Latin letters are dropped only when non-Latin characters outnumber them 2:1", () => {
  const mostlyRussian = codePoints("Это текст ok");
  assert.equal(fromCodePoints(cleaningText(mostlyRussian)), "Это текст ");
  const balanced = codePoints("Это text");
  assert.equal(fromCodePoints(cleaningText(balanced)), "Это text");
  // The reference's exemption of Latin Extended Additional never applies (it compares a number
  // with a string), so Vietnamese letters U+1Exx count as non-Latin.
  assert.equal(fromCodePoints(cleaningText(codePoints("ạạạạạ ab"))), "ạạạạạ ");
  // 'A'..'z' includes the six ASCII characters between Z and a.
  assert.equal(fromCodePoints(cleaningText(codePoints("ЖЖЖЖЖЖЖ_^`"))), "ЖЖЖЖЖЖЖ");
});

test("n-grams: 1-, 2- and 3-grams per character, words separated by a space", () => {
  assert.deepEqual(allGrams("ab"), ["a", " a", "b", "ab", " ab"]);
  assert.deepEqual(allGrams("ab c"), ["a", " a", "b", "ab", " ab", "b ", "ab ", "c", " c"]);
  // Punctuation and digits normalise to a space.
  assert.deepEqual(allGrams("a1"), ["a", " a", "a ", " a "]);
});

test("n-grams: inside an ALL-CAPS word nothing is counted after the second capital", () => {
  assert.deepEqual(allGrams("ABc"), ["A", " A", "c", "Bc", "ABc"]);
  assert.deepEqual(allGrams("NASA"), ["N", " N"]);
  assert.deepEqual(allGrams("aB"), ["a", " a", "B", "aB", " aB"]);
  // A capital after a lower-case letter does not start skipping; two capitals in a row do.
  assert.deepEqual(allGrams("aBC d"), ["a", " a", "B", "aB", " aB", "C ", "BC ", "d", " d"]);
});

test("n-grams: characters outside the BMP count as one character, as in Python", () => {
  // 𝐀 (U+1D400) is an upper-case letter: two of them make a capital word.
  assert.deepEqual(allGrams("𝐀𝐀b"), ["𝐀", " 𝐀", "b", "𝐀b", "𝐀𝐀b"]);
  assert.deepEqual(allGrams("a😀"), ["a", " a", "😀", "a😀", " a😀"]);
});

test("n-grams: Romanian comma-below letters and Farsi yeh are mapped like the profiles", () => {
  assert.deepEqual(allGrams("ș"), ["ş", " ş"]);
  assert.deepEqual(allGrams("ț"), ["ţ", " ţ"]);
  assert.deepEqual(allGrams("ی"), ["ي", " ي"]);
  assert.deepEqual(allGrams("カ"), ["ア", " ア"]);
  assert.deepEqual(allGrams("한"), ["가", " 가"]);
});

test("messages.properties: \\uXXXX escapes are decoded, anything else is refused with its line", () => {
  const parsed = parseMessages("A=\\u0041\\u00e4\n\nB=x=y\n", "m.properties");
  assert.equal(parsed.values.get("A"), "Aä");
  assert.equal(parsed.values.get("B"), "x=y");
  assert.throws(() => parseMessages("A=ok\nB=\\n\n", "m.properties"), (error: unknown) => {
    assert.ok(error instanceof InputError);
    assert.match(error.message, /^m\.properties:2 \(field B\): unsupported escape/);
    return true;
  });
});
