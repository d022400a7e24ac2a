/**
 * Each checker's edge cases, hand-checked against the reference semantics (spec §4, §5): the
 * cases with stated verdicts in adversarial-cases.jsonl, plus argument validation.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePromptLine } from "../../../src/eval/ifeval/prompts.ts";
import { INSTRUCTIONS } from "../../../src/eval/ifeval/instructions/registry.ts";
import { judge } from "../../../src/eval/ifeval/score.ts";
import { InputError } from "../../../src/util/errors.ts";
import { readAdversarialCases } from "./cases.ts";

const cases = readAdversarialCases();

test("the fixture covers every registered instruction with hand-checked verdicts", () => {
  const checked = new Set(cases.filter((c) => c.spec.strict !== undefined).flatMap((c) => c.prompt.instructionIds));
  assert.deepEqual([...INSTRUCTIONS.keys()].filter((id) => !checked.has(id)), []);
  assert.ok(cases.filter((c) => c.spec.strict !== undefined).length >= 140);
});

for (const { spec, prompt } of cases) {
  if (spec.strict === undefined) continue;
  test(`${spec.name}: ${JSON.stringify(spec.response).slice(0, 60)}`, () => {
    const { strict, loose } = judge(prompt.checks, spec.response);
    assert.deepEqual(strict, spec.strict, "strict");
    if (spec.loose !== undefined) assert.deepEqual(loose, spec.loose, "loose");
    // Loose is never stricter than strict.
    strict.forEach((s, i) => assert.ok(!s || loose[i]));
  });
}

function build(id: string, kwargs: Record<string, unknown>) {
  return () => parsePromptLine({ key: 7, prompt: "p", instruction_id_list: [id], kwargs: [kwargs] }, "prompts.jsonl", 3);
}

test("invalid arguments raise, naming file, line and field", () => {
  const expectations: [string, Record<string, unknown>, RegExp][] = [
    ["keywords:letter_frequency", { letter: "ab", let_frequency: 2, let_relation: "at least" }, /prompts\.jsonl:3 \(field kwargs\[0\]\.letter\)/],
    ["keywords:letter_frequency", { letter: "a", let_frequency: 2, let_relation: "at most" }, /kwargs\[0\]\.let_relation/],
    ["length_constraints:number_words", { num_words: -1, relation: "at least" }, /kwargs\[0\]\.num_words/],
    ["length_constraints:number_words", { num_words: 1.5, relation: "at least" }, /kwargs\[0\]\.num_words/],
    ["length_constraints:number_words", { relation: "at least" }, /kwargs\[0\]\.num_words/],
    ["length_constraints:nth_paragraph_first_word", { num_paragraphs: 2, nth_paragraph: 3, first_word: "a" }, /kwargs\[0\]\.nth_paragraph/],
    ["combination:repeat_prompt", {}, /kwargs\[0\]\.prompt_to_repeat/],
    ["punctuation:no_comma", { extra: 1 }, /invalid argument for punctuation:no_comma/],
  ];
  for (const [id, kwargs, message] of expectations) assert.throws(build(id, kwargs), (e: unknown) => e instanceof InputError && message.test(e.message), `${id} ${JSON.stringify(kwargs)}`);
});

test("an unknown instruction id is an error that names the field", () => {
  assert.throws(build("keywords:key_sentences", {}), /prompts\.jsonl:3 \(field instruction_id_list\[0\]\): unknown instruction id/);
});

test("a keyword that is not a valid Python regex is an error", () => {
  assert.throws(build("keywords:existence", { keywords: ["(unclosed"] }), /prompts\.jsonl:3 \(field kwargs\[0\]\): invalid argument for keywords:existence: cannot use "\(unclosed" as a Python regular expression/);
  assert.throws(build("keywords:forbidden_words", { forbidden_words: ["c++"] }), /field kwargs\[0\]/);
});

test("null kwargs (Hugging Face format) are dropped; 0 is kept", () => {
  const p = build("detectable_format:number_bullet_lists", { num_bullets: 0, keywords: null })();
  assert.deepEqual(p.kwargs, [{ num_bullets: 0 }]);
  assert.deepEqual(judge(p.checks, "no bullets here").strict, [true]);
});

test("M-IFEval's en: prefix names the reference checkers", () => {
  const p = parsePromptLine({ key: 1, prompt: "p", instruction_id_list: ["en:punctuation:no_comma"], kwargs: [{}] }, "f", 1);
  assert.deepEqual(p.instructionIds, ["punctuation:no_comma"]);
  assert.throws(() => parsePromptLine({ key: 1, prompt: "p", instruction_id_list: ["fr:punctuation:no_comma"], kwargs: [{}] }, "f", 1), /unknown instruction id/);
});
