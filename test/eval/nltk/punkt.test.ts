// Hand-checked behaviour of the Punkt port and its parameter loader.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { punktFolder, PunktSentenceTokenizer, punktTokenizer, sentTokenize } from "../../../src/eval/nltk/punkt.ts";
import { isCollocation, loadPunktParameters, orthoContextOf } from "../../../src/eval/nltk/punkt-parameters.ts";
import { InputError, KieloError } from "../../../src/util/errors.ts";

describe("sentTokenize (English Punkt)", () => {
  it("splits the four IFEval spec examples into 5, 3, 4 and 2 sentences", () => {
    assert.deepEqual(sentTokenize("xx,x. xx,x! xx/x. x{x}x? x."), ["xx,x.", "xx,x!", "xx/x.", "x{x}x?", "x."]);
    assert.deepEqual(sentTokenize("xx,x! xxxx. x(x)x?"), ["xx,x!", "xxxx.", "x(x)x?"]);
    assert.deepEqual(sentTokenize("xxxx. xx,x! xx|x. x&x x?"), ["xxxx.", "xx,x!", "xx|x.", "x&x x?"]);
    assert.deepEqual(sentTokenize("xx-x]xx,x! x{x}xx,x."), ["xx-x]xx,x!", "x{x}xx,x."]);
  });

  it("does not break after a known collocation (##number## + international)", () => {
    assert.deepEqual(sentTokenize("Sales rose in 5. International trade fell."), ["Sales rose in 5. International trade fell."]);
    assert.deepEqual(sentTokenize("Sales rose in 5. Trade fell."), ["Sales rose in 5.", "Trade fell."]);
  });

  it("does not break after known abbreviations or initials", () => {
    assert.deepEqual(sentTokenize("Mr. Smith met Dr. Jones. They talked."), ["Mr. Smith met Dr. Jones.", "They talked."]);
    assert.deepEqual(sentTokenize("J. S. Bach was born in 1685. He died in 1750."), [
      "J. S. Bach was born in 1685.",
      "He died in 1750.",
    ]);
    // "u.s" is an abbreviation type; "The" after it is a frequent sentence starter.
    assert.deepEqual(sentTokenize("He moved to the U.S. The move went well."), ["He moved to the U.S.", "The move went well."]);
  });

  it("keeps closing quotes and brackets with the sentence before (realign_boundaries)", () => {
    assert.deepEqual(sentTokenize('He said "Stop." Then he left.'), ['He said "Stop."', "Then he left."]);
    assert.deepEqual(sentTokenize("(Sentence one.) Sentence two."), ["(Sentence one.)", "Sentence two."]);
  });

  it("keeps whitespace inside sentences, drops it between them, and handles empty text", () => {
    assert.deepEqual(sentTokenize("One.\n\nTwo\nlines.  "), ["One.", "Two\nlines."]);
    assert.deepEqual(sentTokenize(""), []);
    assert.deepEqual(sentTokenize("   "), []);
    assert.deepEqual(sentTokenize("no final period"), ["no final period"]);
  });

  it("treats a number before a lowercase word as part of the sentence", () => {
    assert.deepEqual(sentTokenize("It was 5. then it rose."), ["It was 5. then it rose."]);
  });

  it("loads the parameters once", () => {
    assert.equal(punktTokenizer("english"), punktTokenizer("english"));
  });

  it("refuses a language that is not shipped, naming it", () => {
    assert.throws(() => sentTokenize("Hi.", "klingon"), (e: unknown) => e instanceof KieloError && e.message.includes("klingon"));
    assert.throws(() => sentTokenize("Hi.", "../english"), (e: unknown) => e instanceof KieloError && e.message.includes("../english"));
  });
});

describe("loadPunktParameters", () => {
  const temp = mkdtempSync(join(tmpdir(), "kielo-punkt-"));
  after(() => rmSync(temp, { recursive: true, force: true }));

  it("reads the shipped English files with their published sizes", () => {
    const params = loadPunktParameters(punktFolder("english"));
    assert.equal(params.abbrevTypes.size, 156);
    assert.ok(params.abbrevTypes.has("u.s"));
    assert.ok(params.abbrevTypes.has(". . "), "the odd published entry is kept as it is");
    assert.equal(params.sentStarters.size, 39);
    assert.equal([...params.collocations.values()].reduce((n, s) => n + s.size, 0), 37);
    assert.equal(params.orthoContext.size, 20366);
    assert.equal(orthoContextOf(params, "not-a-word-type"), 0);
  });

  it("parses each file as nltk's tabdata decoder does", () => {
    const dir = mkdtempSync(join(temp, "lang-"));
    // \r\n is a newline (universal newlines); the last line needs no \n; a 3-field collocation never matches.
    writeFileSync(join(dir, "abbrev_types.txt"), "mr\r\nu.s\n");
    writeFileSync(join(dir, "sent_starters.txt"), "the");
    writeFileSync(join(dir, "collocations.tab"), "##number##\tjune\na\tb\tc");
    writeFileSync(join(dir, "ortho_context.tab"), "the\t18\nsmith\t 4 ");
    const params = loadPunktParameters(dir);
    assert.deepEqual([...params.abbrevTypes], ["mr", "u.s"]);
    assert.deepEqual([...params.sentStarters], ["the"]);
    assert.ok(isCollocation(params, "##number##", "june"));
    assert.ok(!isCollocation(params, "a", "b"));
    assert.equal(orthoContextOf(params, "the"), 18);
    assert.equal(orthoContextOf(params, "smith"), 4);
    const tokenizer = new PunktSentenceTokenizer(params);
    assert.deepEqual(tokenizer.tokenize("Mr. Smith is here. The end."), ["Mr. Smith is here.", "The end."]);
  });

  it("names the file and line of a malformed ortho_context.tab", () => {
    const dir = mkdtempSync(join(temp, "bad-"));
    writeFileSync(join(dir, "abbrev_types.txt"), "mr");
    writeFileSync(join(dir, "sent_starters.txt"), "the");
    writeFileSync(join(dir, "collocations.tab"), "");
    writeFileSync(join(dir, "ortho_context.tab"), "the\t18\nsmith\tfour");
    assert.throws(
      () => loadPunktParameters(dir),
      (e: unknown) => e instanceof InputError && e.message.includes("ortho_context.tab:2") && e.message.includes('"four"'),
    );
    writeFileSync(join(dir, "ortho_context.tab"), "the 18");
    assert.throws(() => loadPunktParameters(dir), (e: unknown) => e instanceof InputError && e.message.includes("ortho_context.tab:1"));
  });

  it("says which file is missing", () => {
    assert.throws(
      () => loadPunktParameters(join(temp, "nowhere")),
      (e: unknown) => e instanceof Error && e.message.includes("abbrev_types.txt"),
    );
  });
});
