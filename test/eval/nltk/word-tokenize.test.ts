// Hand-checked behaviour of the word_tokenize port (each case follows from destructive.py's
// rules as commented; all were also confirmed with nltk 3.9.1).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { treebankWordTokenize, wordTokenize } from "../../../src/eval/nltk/word-tokenize.ts";

describe("wordTokenize", () => {
  it("tokenizes nltk's own docstring example (Punkt first, so every sentence-final period splits)", () => {
    assert.deepEqual(
      wordTokenize("Good muffins cost $3.88 (roughly 3,36 euros)\nin New York.  Please buy me\ntwo of them.\nThanks."),
      ["Good", "muffins", "cost", "$", "3.88", "(", "roughly", "3,36", "euros", ")", "in", "New", "York", ".",
        "Please", "buy", "me", "two", "of", "them", ".", "Thanks", "."],
    );
  });

  it("splits contractions in capitals: N'T, CAN NOT", () => {
    assert.deepEqual(wordTokenize("I DON'T know, YOU CANNOT go."), ["I", "DO", "N'T", "know", ",", "YOU", "CAN", "NOT", "go", "."]);
  });

  it("splits gonna, 're, double dashes, and turns straight quotes into `` and ''", () => {
    assert.deepEqual(wordTokenize('We\'re gonna win -- "big".'), ["We", "'re", "gon", "na", "win", "--", "``", "big", "''", "."]);
  });

  it("splits 'Tis and 's but keeps 5:30 (a colon before a digit stays)", () => {
    assert.deepEqual(wordTokenize("'Tis true: it's 5:30."), ["'T", "is", "true", ":", "it", "'s", "5:30", "."]);
  });

  it("keeps an ellipsis as one token", () => {
    assert.deepEqual(wordTokenize('He said "hi" and left...'), ["He", "said", "``", "hi", "''", "and", "left", "..."]);
  });

  it("matches (?i) the Python way: dotless ı counts as i", () => {
    assert.deepEqual(wordTokenize("Gımme that!"), ["Gım", "me", "that", "!"]);
  });

  it("pads ; @ # % & * and commas", () => {
    assert.deepEqual(wordTokenize("x, y; z@w #1 50% & *a*"), ["x", ",", "y", ";", "z", "@", "w", "#", "1", "50", "%", "&", "*", "a", "*"]);
  });

  it("returns nothing for empty or blank text", () => {
    assert.deepEqual(wordTokenize(""), []);
    assert.deepEqual(wordTokenize(" \n\t"), []);
  });
});

describe("treebankWordTokenize (one sentence, no Punkt)", () => {
  it("splits only the final period of its input", () => {
    assert.deepEqual(treebankWordTokenize("The end. Really."), ["The", "end.", "Really", "."]);
  });
});
