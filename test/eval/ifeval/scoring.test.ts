/** Loose variants, the empty-response rule and the metrics, hand-checked (spec §3). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { computeMetrics } from "../../../src/eval/ifeval/metrics.ts";
import { judge, looseVariants } from "../../../src/eval/ifeval/score.ts";

test("the eight loose variants, in the reference's order", () => {
  assert.deepEqual(looseVariants("Sure:\r\n**A** b\n last *\n"), [
    "Sure:\r\n**A** b\n last *\n",
    "Sure:\r\nA b\n last \n",
    "**A** b\n last *",
    "Sure:\r\n**A** b\n last *",
    "**A** b\n last *",
    "A b\n last ",
    "Sure:\r\nA b\n last ",
    "A b\n last ",
  ]);
  assert.deepEqual(looseVariants("one"), ["one", "one", "", "", "", "", "", ""]);
});

test("a blank variant never counts, even for a check that would pass on it", () => {
  const always = () => true;
  assert.deepEqual(judge([always], " \n\t"), { strict: [false], loose: [false] });
  assert.deepEqual(judge([always], "x"), { strict: [true], loose: [true] });
  // Only the first line passes the check; the variants without it do not.
  const firstLineIsA = (v: string) => v.startsWith("A");
  assert.deepEqual(judge([firstLineIsA], "B\nA"), { strict: [false], loose: [true] });
});

test("prompt- and instruction-level accuracy, per category and per id", () => {
  const m = computeMetrics([
    { instructionIds: ["punctuation:no_comma", "detectable_format:title"], strict: [true, false], loose: [true, true] },
    { instructionIds: ["detectable_format:title"], strict: [true], loose: [true] },
    { instructionIds: ["keywords:existence", "keywords:frequency", "punctuation:no_comma"], strict: [false, false, true], loose: [false, true, true] },
  ]);
  assert.equal(m.prompts, 3);
  assert.equal(m.instructions, 6);
  assert.equal(m.prompt_level_strict, 1 / 3);
  assert.equal(m.prompt_level_loose, 2 / 3);
  assert.equal(m.instruction_level_strict, 3 / 6);
  assert.equal(m.instruction_level_loose, 5 / 6);
  assert.deepEqual(m.counts, { prompt_level_strict: 1, instruction_level_strict: 3, prompt_level_loose: 2, instruction_level_loose: 5 });
  assert.deepEqual(Object.keys(m.per_category), ["detectable_format", "keywords", "punctuation"]);
  assert.deepEqual(m.per_category["detectable_format"], { instructions: 2, strict_followed: 1, strict: 0.5, loose_followed: 2, loose: 1 });
  assert.deepEqual(m.per_instruction["keywords:frequency"], { instructions: 1, strict_followed: 0, strict: 0, loose_followed: 1, loose: 1 });
  assert.deepEqual(m.per_instruction["punctuation:no_comma"], { instructions: 2, strict_followed: 2, strict: 1, loose_followed: 2, loose: 1 });
});
