// Loading langdetect profiles: the shipped table's shape, and errors that name file and field.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { findGram } from "../../../src/eval/langid/gram-index.ts";
import { loadProfileTable, PROFILE_ORDER, PROFILES_DIR } from "../../../src/eval/langid/profiles.ts";
import { InputError } from "../../../src/util/errors.ts";

test("the shipped table: 55 languages in PROFILE_ORDER, freq / n_words per n-gram", () => {
  const table = loadProfileTable();
  assert.deepEqual(table.languages, PROFILE_ORDER);
  assert.equal(table.words.length, 87598); // len(word_lang_prob_map) of the reference factory
  const fi = JSON.parse(readFileSync(join(PROFILES_DIR, "fi"), "utf8")) as { freq: Record<string, number>; n_words: number[] };
  const fiColumn = PROFILE_ORDER.indexOf("fi");
  const width = PROFILE_ORDER.length;
  for (const gram of ["ä", "yö", "ssa"]) {
    const row = findGram(table.index, gram);
    assert.ok(row !== undefined, gram);
    assert.equal(table.words[row], gram);
    assert.equal(table.probabilities[row * width + fiColumn], (fi.freq[gram] as number) / (fi.n_words[gram.length - 1] as number));
  }
  assert.equal(findGram(table.index, "qqq"), undefined);
  assert.equal(findGram(table.index, "😀"), undefined);
});

test("a broken profile is reported with its file and field", () => {
  const dir = mkdtempSync(join(tmpdir(), "kielo-langid-"));
  try {
    writeFileSync(join(dir, "good"), JSON.stringify({ name: "good", freq: { a: 3 }, n_words: [3, 1, 1] }));
    writeFileSync(join(dir, "count"), JSON.stringify({ name: "count", freq: { a: -1 }, n_words: [3, 1, 1] }));
    writeFileSync(join(dir, "nwords"), JSON.stringify({ name: "nwords", freq: { a: 1 }, n_words: [3, 1] }));
    writeFileSync(join(dir, "json"), "{ not json");
    writeFileSync(join(dir, "twin"), JSON.stringify({ name: "good", freq: { b: 3 }, n_words: [3, 1, 1] }));
    const failsWith = (order: string[], pattern: RegExp): void => {
      assert.throws(() => loadProfileTable(dir, order), (error: unknown) => {
        assert.ok(error instanceof InputError, String(error));
        assert.match(error.message, pattern);
        return true;
      });
    };
    failsWith(["good", "count"], /count \(field freq\.a\): expected a non-negative integer count, got -1/);
    failsWith(["nwords"], /nwords \(field n_words\): not a langdetect profile/);
    failsWith(["json"], /json: cannot read langdetect profile/);
    failsWith(["good", "twin"], /twin \(field name\): duplicate language profile "good"/);
    assert.deepEqual(loadProfileTable(dir, ["good"]).languages, ["good"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
