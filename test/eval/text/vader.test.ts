/**
 * The VADER scorer (npm `vader-sentiment` 1.1.3) against the Python `vaderSentiment` 3.3.2 on real
 * English answers. The npm port follows an older VADER (no emoji lexicon, older lexicon and
 * rules), so the scores are not equal: this test pins how far they agree — the sentiment label
 * (compound ≥ 0.05 / ≤ −0.05) and the compound score's sign — so a change on either side shows.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { vaderLabel, vaderScores } from "../../../src/eval/text/scorers/vader.ts";
import { answerCorpus } from "./corpus.ts";

const PYTHON = process.env["KIELO_PYTHON"] ?? fileURLToPath(new URL("../../../.venv/bin/python", import.meta.url));
const PEER = `
import json, sys
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
analyzer = SentimentIntensityAnalyzer()
print(json.dumps([analyzer.polarity_scores(text) for text in json.load(sys.stdin)]))
`;

describe("VADER scorer", () => {
  it("agrees with Python vaderSentiment 3.3.2 on the label of most real English answers", () => {
    const texts = answerCorpus(60).filter((c) => c.lang === "en").map((c) => c.text);
    const run = spawnSync(PYTHON, ["-c", PEER], { input: JSON.stringify(texts), encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    assert.equal(run.status, 0, run.stderr);
    const peer = JSON.parse(run.stdout) as { compound: number }[];
    let sameLabel = 0;
    let within = 0;
    texts.forEach((text, i) => {
      const mine = vaderScores(text).compound;
      if (vaderLabel(mine) === vaderLabel(peer[i]!.compound)) sameLabel += 1;
      if (Math.abs(mine - peer[i]!.compound) <= 0.05) within += 1;
    });
    const share = sameLabel / texts.length;
    process.stdout.write(`# VADER: ${texts.length} answers, same label ${sameLabel} (${(100 * share).toFixed(1)}%), compound within 0.05: ${within}\n`);
    assert.ok(texts.length >= 200);
    assert.ok(share >= 0.9, `same label on ${(100 * share).toFixed(1)}% only`);
  });

  it("labels clear cases as VADER does", () => {
    assert.equal(vaderLabel(vaderScores("I love this, it is wonderful!").compound), "positive");
    assert.equal(vaderLabel(vaderScores("This is terrible and I hate it.").compound), "negative");
    assert.equal(vaderLabel(vaderScores("The table is in the room.").compound), "neutral");
  });
});
