/**
 * The VADER port (src/eval/text/vader/) against the Python `vaderSentiment` 3.3.2 itself: neg, neu,
 * pos and compound must be the same floats (Object.is, so even the sign of a zero) on real
 * answers — 300 English (IFEval answers of GPT-4o and Qwen2.5-0.5B, Dolly and OpenAssistant
 * replies) and 230 in Finnish, French and Spanish — on the package's demo sentences, on
 * hand-written cases for every rule, and on 2,000 generated sentences mixing the rules' words.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { polarityScores, type Polarity } from "../../../src/eval/text/vader/vader.ts";
import { vaderLabel } from "../../../src/eval/text/scorers/vader.ts";
import { answerCorpus } from "./corpus.ts";
import { DEMO_SENTENCES, generatedSentences, RULE_CASES } from "./vader-cases.ts";

const PYTHON = process.env["KIELO_PYTHON"] ?? fileURLToPath(new URL("../../../.venv/bin/python", import.meta.url));
const PEER = fileURLToPath(new URL("./vader_peer.py", import.meta.url));
const FIELDS = ["neg", "neu", "pos", "compound"] as const;

const corpus = answerCorpus(75);
const GROUPS: Record<string, string[]> = {
  "real English answers": corpus.filter((c) => c.lang === "en").map((c) => c.text),
  "real Finnish, French and Spanish texts": corpus.filter((c) => c.lang !== "en").map((c) => c.text),
  "demo sentences": DEMO_SENTENCES,
  ...Object.fromEntries(Object.entries(RULE_CASES).map(([rule, texts]) => [`${rule} cases`, texts])),
  "generated sentences": generatedSentences(2000, 11),
};

/** "text: field mine ≠ python" for every value that is not the same float. */
function differences(texts: readonly string[], peer: readonly Polarity[]): string[] {
  const out: string[] = [];
  texts.forEach((text, i) => {
    const mine = polarityScores(text);
    for (const field of FIELDS) {
      if (!Object.is(mine[field], peer[i]![field])) out.push(`${JSON.stringify(text.slice(0, 80))}: ${field} ${mine[field]} ≠ ${peer[i]![field]}`);
    }
  });
  return out;
}

describe("VADER port", () => {
  const peer = new Map<string, Polarity[]>();

  before(() => {
    const all = Object.values(GROUPS).flat();
    const run = spawnSync(PYTHON, [PEER], { input: JSON.stringify(all), encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (run.error !== undefined) throw run.error;
    assert.equal(run.status, 0, run.stderr);
    const answer = JSON.parse(run.stdout) as { vaderSentiment: string; python: string; results: Polarity[] };
    assert.equal(answer.vaderSentiment, "3.3.2");
    let at = 0;
    for (const [group, texts] of Object.entries(GROUPS)) {
      peer.set(group, answer.results.slice(at, at + texts.length));
      at += texts.length;
    }
  });

  for (const [group, texts] of Object.entries(GROUPS)) {
    it(`gives vaderSentiment 3.3.2's exact scores on ${texts.length} ${group}`, () => {
      const diff = differences(texts, peer.get(group)!);
      assert.deepEqual(diff.slice(0, 10), [], `${diff.length} of ${texts.length * FIELDS.length} values differ`);
    });
  }

  it("covers enough real English answers, and texts where VADER's scores are not all zero", () => {
    assert.ok(GROUPS["real English answers"]!.length >= 300);
    const results = [...peer.values()].flat();
    assert.ok(results.filter((r) => r.compound > 0.05).length > 500);
    assert.ok(results.filter((r) => r.compound < -0.05).length > 500);
  });

  it("labels clear cases by the compound score", () => {
    assert.equal(vaderLabel(polarityScores("I love this, it is wonderful!").compound), "positive");
    assert.equal(vaderLabel(polarityScores("This is terrible and I hate it.").compound), "negative");
    assert.equal(vaderLabel(polarityScores("The table is in the room.").compound), "neutral");
  });
});
