import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { answerShape, promptCopy, repetition, words } from "../../src/eval/answer-shape.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

test("words: lower-cased runs of letters and digits, Finnish letters included", () => {
  assert.deepEqual(words("Mikä on Suomen pääkaupunki? 1917, ÅLAND!"), ["mikä", "on", "suomen", "pääkaupunki", "1917", "åland"]);
});

test("seq-rep-4: 1 − distinct 4-grams / 4-grams (hand-counted)", () => {
  // Six equal words: 3 four-grams, 1 distinct.
  assert.equal(repetition(words("Keskustomu, keskustomu, keskustomu, keskustomu, keskustomu, keskustomu")), 1 - 1 / 3);
  // "se on hyvä" three times: 6 four-grams, 3 distinct.
  assert.equal(repetition(words("Se on hyvä. Se on hyvä. Se on hyvä.")), 0.5);
  assert.equal(repetition(words("Helsinki on Suomen pääkaupunki.")), 0);
  assert.equal(repetition(words("Helsinki.")), 0);
});

test("prompt copy: share of the answer's 4-grams (or all its words, when fewer) found in the prompt", () => {
  const prompt = words("Mikä on Suomen pääkaupunki?");
  assert.equal(promptCopy(prompt, words("Mikä on Suomen pääkaupunki? Helsinki.")), 0.5);
  assert.equal(promptCopy(prompt, words("Mikä on Suomen pääkaupunki?")), 1);
  assert.equal(promptCopy(prompt, words("Helsinki.")), 0);
  assert.equal(promptCopy(prompt, words("Suomen")), 1);
  assert.equal(promptCopy(prompt, []), 0);
});

test("answerShape flags loops and copies at 0.5; real Dolly-fi answers are neither", () => {
  const loop = answerShape("Kerro Keski-Suomesta.", "Keskustomu, keskustomu, keskustomu, keskustomu, keskustomu, keskustomu");
  assert.deepEqual([loop.loops, loop.copiesPrompt, loop.words], [true, false, 6]);
  const echo = answerShape("Mikä on Suomen pääkaupunki?", "Mikä on Suomen pääkaupunki?");
  assert.deepEqual([echo.loops, echo.copiesPrompt], [false, true]);
  const rows = gunzipSync(readFileSync(join(root, "examples/real-model/sft-fi.heldout.jsonl.gz")))
    .toString("utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { messages: { content: string }[] });
  const shapes = rows.map((r) => answerShape(r.messages[0]!.content, r.messages[1]!.content));
  assert.equal(shapes.filter((s) => s.loops).length, 0, "human-written answers do not loop");
  // Extractive answers that quote the given context count as copies: a few, not most.
  const copies = shapes.filter((s) => s.copiesPrompt).length;
  assert.ok(copies < rows.length * 0.2, `${copies} of ${rows.length}`);
});
