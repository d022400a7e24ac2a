/**
 * The textstat port against the Python `textstat` 0.7.13 package itself (the peer script gives it
 * the PyPI CMU dictionary in place of NLTK's download) on real answers: every field of the
 * `text_quality` block must be the same number, bit for bit.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { KieloError } from "../../../src/util/errors.ts";
import { Textstat, TEXT_QUALITY_FIELDS, type TextQuality } from "../../../src/eval/text/textstat/textstat.ts";
import { pyRound } from "../../../src/text/python-round.ts";
import { answerCorpus } from "./corpus.ts";

const PYTHON = process.env["KIELO_PYTHON"] ?? fileURLToPath(new URL("../../../.venv/bin/python", import.meta.url));

function peer(texts: { text: string; lang: string }[]): { textstat: string; results: TextQuality[] } {
  const run = spawnSync(PYTHON, [fileURLToPath(new URL("./textstat_peer.py", import.meta.url))], {
    input: JSON.stringify({ texts }),
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (run.error !== undefined) throw run.error;
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as { textstat: string; results: TextQuality[] };
}

/** Texts and the textstat language each is measured in (Finnish: en_US, textstat has no Finnish). */
function cases(): { source: string; text: string; lang: string }[] {
  const corpus = answerCorpus(50);
  const out = corpus.map((c) => ({ source: c.source, text: c.text, lang: c.lang === "en" || c.lang === "fi" ? "en_US" : c.lang }));
  // Other language settings on the same real text: a bare `en` (Pyphen's en_GB), and the
  // Italian, Polish and Portuguese settings on the Spanish text.
  const english = corpus.filter((c) => c.source === "dolly-en").slice(0, 20);
  const spanish = corpus.filter((c) => c.lang === "es").slice(0, 15);
  out.push(...english.map((c) => ({ source: `${c.source} as en`, text: c.text, lang: "en" })));
  for (const lang of ["it_IT", "pl", "pt"]) out.push(...spanish.map((c) => ({ source: `${c.source} as ${lang}`, text: c.text, lang })));
  // Edge cases textstat has branches for: empty, one word, no sentence end, only punctuation, Arabic.
  for (const text of ["", "Hello", "no full stop here at all", "?!...", "الكتاب مفيد جدا. قرأته مرتين!"]) out.push({ source: "edge", text, lang: "en_US" });
  return out;
}

describe("eval text: textstat port", () => {
  it("equals Python textstat 0.7.13 on every field of the text_quality block for ≥ 300 real answers", () => {
    const texts = cases();
    assert.ok(texts.length >= 300, `${texts.length} texts`);
    const reference = peer(texts.map(({ text, lang }) => ({ text, lang })));
    assert.equal(reference.textstat, "0.7.13");
    const measurers = new Map<string, Textstat>();
    const mismatches: string[] = [];
    texts.forEach((item, i) => {
      let textstat = measurers.get(item.lang);
      if (textstat === undefined) measurers.set(item.lang, (textstat = new Textstat(item.lang)));
      const mine = textstat.textQuality(item.text);
      for (const field of TEXT_QUALITY_FIELDS) {
        if (mine[field] !== reference.results[i]![field]) {
          mismatches.push(`${item.source} #${i} ${field}: kielo ${mine[field]}, textstat ${reference.results[i]![field]}`);
        }
      }
    });
    assert.deepEqual(mismatches.slice(0, 20), [], `${mismatches.length} of ${texts.length * TEXT_QUALITY_FIELDS.length} values differ`);
    const sources = new Set(texts.map((t) => t.source.split(" ")[0]));
    for (const source of ["ifeval-gpt-4o", "ifeval-qwen2.5-0.5b", "dolly-en", "dolly-fi", "oasst-en", "oasst-fi", "m-ifeval-prompt-fr", "m-ifeval-prompt-es"]) {
      assert.ok(sources.has(source), source);
    }
  });

  it("rounds halves to even, as Python's round()", () => {
    assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999, 2.5001].map((x) => pyRound(x)), [0, 2, 2, 0, -2, 2, 3]);
  });

  it("refuses a language Pyphen has no dictionary for, naming it", () => {
    assert.throws(() => new Textstat("fi"), (error: unknown) => error instanceof KieloError && /"fi".*no hyphenation dictionary/.test(error.message));
    assert.throws(() => new Textstat("de_DE"), (error: unknown) => error instanceof KieloError && /de_DE dictionary, which kielo does not ship/.test(error.message));
  });
});
