/**
 * Peer test against the real reference scorer (lm-eval 0.4.13's `tasks/ifeval`, langdetect
 * seeded 0, NLTK Punkt English): per-instruction strict AND loose verdicts must agree on every
 * M-IFEval response set (GPT-4o and Qwen2.5-0.5B answers to the 541 prompts) and on every
 * adversarial edge case. One Python process scores everything.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { readPrompts, type IfevalPrompt } from "../../../src/eval/ifeval/prompts.ts";
import { joinResponses } from "../../../src/eval/ifeval/responses.ts";
import { judge } from "../../../src/eval/ifeval/score.ts";
import { readAdversarialCases } from "./cases.ts";
import { M_IFEVAL_PROMPTS, RESPONSE_SETS, readResponseSet, runReference, type ReferenceVerdict, type ResponseSetName } from "./helpers.ts";

interface Item {
  set: string;
  name: string;
  prompt: IfevalPrompt;
  response: string;
}

const items: Item[] = [];
let reference: ReferenceVerdict[] = [];

before(async () => {
  const prompts = await readPrompts(M_IFEVAL_PROMPTS);
  for (const set of Object.keys(RESPONSE_SETS) as ResponseSetName[]) {
    const responses = readResponseSet(set).map((r, i) => ({ ...r, line: i + 1 }));
    const { joined } = joinResponses(prompts, responses, set);
    assert.equal(joined.length, 541);
    for (const j of joined) items.push({ set, name: `key ${j.prompt.key}`, prompt: j.prompt, response: j.response });
  }
  for (const { spec, prompt } of readAdversarialCases()) items.push({ set: "adversarial", name: spec.name, prompt, response: spec.response });
  reference = runReference(
    items.map((it) => ({ instruction_id_list: it.prompt.instructionIds, kwargs: it.prompt.kwargs, prompt: it.prompt.prompt, response: it.response })),
  );
});

function disagreements(set: string): string[] {
  const out: string[] = [];
  items.forEach((it, i) => {
    if (it.set !== set) return;
    const ours = judge(it.prompt.checks, it.response);
    const ref = reference[i]!;
    it.prompt.instructionIds.forEach((id, k) => {
      if (ours.strict[k] !== ref.strict[k] || ours.loose[k] !== ref.loose[k]) {
        out.push(`${it.name} ${id}: strict ${ours.strict[k]} vs ${ref.strict[k]}, loose ${ours.loose[k]} vs ${ref.loose[k]}`);
      }
    });
  });
  return out;
}

for (const set of [...Object.keys(RESPONSE_SETS), "adversarial"]) {
  test(`${set}: every strict and loose verdict equals the reference's`, () => {
    const count = items.filter((it) => it.set === set).reduce((n, it) => n + it.prompt.instructionIds.length, 0);
    assert.ok(count >= (set === "adversarial" ? 170 : 834), `${count} instructions compared`);
    assert.deepEqual(disagreements(set), []);
  });
}

test("the response sets exercise both outcomes of every instruction id", () => {
  const seen = new Map<string, Set<boolean>>();
  items.forEach((it, i) => {
    it.prompt.instructionIds.forEach((id, k) => {
      const s = seen.get(id) ?? new Set<boolean>();
      s.add(reference[i]!.strict[k]!);
      seen.set(id, s);
    });
  });
  for (const [id, outcomes] of seen) assert.equal(outcomes.size, 2, `${id} is only ever ${[...outcomes]}`);
});
