// getDetector / compareDetectors over the fixture corpus: both detectors answer in langdetect's
// codes, and on texts whose language is known both name it almost always.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { eldCodeToLangdetect, ELD_ONLY_LANGUAGES } from "../../../src/eval/langid/eld.ts";
import { compareDetectors, getDetector } from "../../../src/eval/langid/index.ts";
import { PROFILE_ORDER } from "../../../src/eval/langid/profiles.ts";
import { fixturesDir } from "./peer.ts";

interface FixtureText {
  id: string;
  kind: string;
  text: string;
}

const texts: FixtureText[] = readFileSync(`${fixturesDir}texts.jsonl`, "utf8")
  .split("\n")
  .filter((line) => line !== "")
  .map((line) => JSON.parse(line) as FixtureText);

/** Texts whose language is known from their source (one language, real text, > 100 characters). */
const KNOWN: Array<[RegExp, string]> = [
  [/^mifeval-fr-/, "fr"],
  [/^mifeval-es-/, "es"],
  [/^mifeval-ja-/, "ja"],
  [/^dolly-fi-/, "fi"],
  [/^dolly-en-/, "en"],
  [/^oasst-fi-/, "fi"],
  [/^lima-fi-\d/, "fi"],
  [/^hh-/, "en"],
];
const labelled = texts.flatMap((t) => {
  const label = KNOWN.find(([pattern]) => pattern.test(t.id))?.[1];
  return label !== undefined && t.text.length > 100 ? [{ ...t, label }] : [];
});

const langdetect = await getDetector("langdetect");
const eld = await getDetector("eld");

test("eld codes are mapped to langdetect's: empty → null, zh → zh-cn, the rest unchanged", () => {
  assert.equal(eldCodeToLangdetect(""), null);
  assert.equal(eldCodeToLangdetect("zh"), "zh-cn");
  assert.equal(eldCodeToLangdetect("fi"), "fi");
  assert.equal(eldCodeToLangdetect("he"), "he");
  assert.equal(eld.detect("我们今天去图书馆学习，然后一起吃晚饭。这个问题很难回答。"), "zh-cn");
});

test("both detectors give null where no language can be named", () => {
  for (const text of ["", "   ", "1234 5678", "😀😀"]) {
    assert.equal(langdetect.detect(text), null, `langdetect ${JSON.stringify(text)}`);
    assert.equal(eld.detect(text), null, `eld ${JSON.stringify(text)}`);
  }
  // langdetect removes URLs before looking; eld reads the letters of a URL as words.
  assert.equal(langdetect.detect("https://example.com/a?b=1"), null);
  assert.equal(eld.detect("https://example.com/a?b=1"), "pt");
});

test("every answer is a langdetect code (or one of eld's extra ISO 639-1 codes)", () => {
  const allowed = new Set<string>([...PROFILE_ORDER, ...ELD_ONLY_LANGUAGES]);
  for (const t of texts) {
    for (const detector of [langdetect, eld]) {
      const lang = detector.detect(t.text);
      assert.ok(lang === null || allowed.has(lang), `${detector.name} said ${lang} for ${t.id}`);
    }
  }
});

test("on texts of known language both detectors are right at least 95 % of the time", () => {
  assert.ok(labelled.length >= 150, `${labelled.length} labelled texts`);
  for (const detector of [langdetect, eld]) {
    const wrong = labelled.filter((t) => detector.detect(t.text) !== t.label);
    assert.ok(wrong.length <= labelled.length * 0.05, `${detector.name} wrong on ${wrong.length}: ${wrong.map((t) => t.id).join(" ")}`);
  }
});

test("compareDetectors lists exactly the texts on which the two answers differ", async () => {
  const sample = texts.slice(0, 200).map((t) => t.text);
  const comparison = await compareDetectors(sample);
  const expected = sample.flatMap((text, index) => {
    const a = langdetect.detect(text);
    const b = eld.detect(text);
    return a === b ? [] : [{ index, langdetect: a, eld: b }];
  });
  assert.deepEqual(comparison.disagreements, expected);
  assert.equal(comparison.total, 200);
  assert.equal(comparison.agreed, 200 - expected.length);
  assert.ok(expected.length > 0 && expected.length < 100, `${expected.length} disagreements`);
});

test("langdetect through getDetector honours the seed option", async () => {
  // A short ambiguous text: the seed changes the sampled n-grams and so the probabilities.
  const seeded = await getDetector("langdetect", { seed: 0 });
  assert.equal(seeded.detect("Bonjour"), "fr");
  const answers = new Set<string | null>();
  for (let seed = 0; seed < 40; seed++) answers.add((await getDetector("langdetect", { seed })).detect("Bonjour"));
  assert.ok(answers.size > 1, `answers over 40 seeds: ${[...answers].join(" ")}`);
});
