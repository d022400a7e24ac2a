// Peer test: the TypeScript Punkt and word_tokenize agree with nltk 3.9.1 (run from the venv,
// NLTK_DATA=resources/nltk_data) on every real document of the fixture, on hand-written hard
// cases and on seeded random texts — the whole sentence list and the whole token list, 100 %.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, describe, it } from "node:test";
import { punktFolder, punktTokenizer } from "../../../src/eval/nltk/punkt.ts";
import { wordTokenize } from "../../../src/eval/nltk/word-tokenize.ts";
import { ADVERSARIAL_TEXTS, randomTexts } from "./adversarial-texts.ts";
import { runNltkPeer, type PeerAnswer, type PeerResult } from "./run-nltk-peer.ts";

interface Document {
  source: string;
  id: string;
  text: string;
}

const documents: Document[] = readFileSync(new URL("../../fixtures/nltk/documents.jsonl", import.meta.url), "utf8")
  .split("\n")
  .filter((line) => line !== "")
  .map((line) => JSON.parse(line) as Document);
const finnishDocuments = documents.filter((d) => d.id.endsWith("_fi"));
const random = randomTexts(20261122, 3000, 40);

const englishTexts = [...documents.map((d) => d.text), ...ADVERSARIAL_TEXTS, ...random];
const finnishTexts = [...finnishDocuments.map((d) => d.text), ...ADVERSARIAL_TEXTS, ...random.slice(0, 500)];

function label(index: number, texts: readonly string[]): string {
  const doc = documents[index];
  const where = index < documents.length && doc !== undefined && texts[index] === doc.text ? `${doc.source} ${doc.id}` : `text #${index}`;
  return `${where}: ${JSON.stringify(texts[index]).slice(0, 120)}`;
}

/** Every text whose TS output differs from the peer's, with both outputs. */
function disagreements(
  texts: readonly string[],
  expected: readonly string[][],
  actual: (text: string) => string[],
): string[] {
  const out: string[] = [];
  texts.forEach((text, i) => {
    const mine = actual(text);
    if (JSON.stringify(mine) !== JSON.stringify(expected[i])) {
      out.push(`${label(i, texts)}\n  ts:   ${JSON.stringify(mine)}\n  nltk: ${JSON.stringify(expected[i])}`);
    }
  });
  return out;
}

describe("Punkt and word_tokenize agree with nltk 3.9.1", () => {
  let answer: PeerAnswer;
  let english: PeerResult;
  let finnish: PeerResult;

  before(() => {
    answer = runNltkPeer([
      { language: "english", texts: englishTexts },
      { language: "finnish", texts: finnishTexts },
    ]);
    [english, finnish] = answer.results as [PeerResult, PeerResult];
  });

  it("runs the pinned nltk on kielo's own parameter files", () => {
    assert.equal(answer.nltk, "3.9.1");
    assert.equal(english.punkt_dir.replace(/\/$/, ""), punktFolder("english").replace(/\/$/, ""));
    assert.equal(finnish.punkt_dir.replace(/\/$/, ""), punktFolder("finnish").replace(/\/$/, ""));
  });

  it("covers at least 300 real multi-sentence documents and 1,000 sentences", () => {
    assert.ok(documents.length >= 300, `${documents.length} documents`);
    const sentences = english.sentences.slice(0, documents.length);
    assert.ok(sentences.every((s) => s.length >= 2));
    const total = sentences.reduce((n, s) => n + s.length, 0);
    assert.ok(total >= 1000, `${total} sentences`);
  });

  it("English Punkt sentences: every text identical", () => {
    const tokenizer = punktTokenizer("english");
    assert.deepEqual(disagreements(englishTexts, english.sentences, (t) => tokenizer.tokenize(t)), []);
  });

  it("word_tokenize tokens: every text identical", () => {
    assert.deepEqual(disagreements(englishTexts, english.tokens, (t) => wordTokenize(t)), []);
  });

  it("Finnish Punkt sentences and word_tokenize(language='finnish'): every text identical", () => {
    const tokenizer = punktTokenizer("finnish");
    assert.deepEqual(disagreements(finnishTexts, finnish.sentences, (t) => tokenizer.tokenize(t)), []);
    assert.deepEqual(disagreements(finnishTexts, finnish.tokens, (t) => wordTokenize(t, "finnish")), []);
  });
});
