/**
 * The misaligned rule on real gettext translations the benchmark does not use
 * (test/fixtures/clean/gettext-heldout.jsonl: Finnish and Japanese from apt, coreutils, grep, sed,
 * tar and wget; Hindi from gtk20-properties, shared-mime-info and software-properties): a target
 * swapped with the translation of the most similar other message — the hardest swap, which shares
 * words with its new source — is found by the source of the file it does translate.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { alignmentTokens, learnAlignment } from "../../src/clean/alignment.ts";
import { CleanConfigSchema, loadCleanConfig } from "../../src/clean/config.ts";
import { RULE_FUNCTIONS } from "../../src/clean/rules.ts";

const heldout = readFileSync(fileURLToPath(new URL("../fixtures/clean/gettext-heldout.jsonl", import.meta.url)), "utf8")
  .trim()
  .split("\n")
  .map((line) => JSON.parse(line) as Record<string, string>);
const config = loadCleanConfig();
// The same rule with no rival counted: the target judged against its own source only.
const withoutRival = CleanConfigSchema.parse({ misaligned: { ...config.misaligned, rival_margin: 1e9 } });

type Pair = { source: string; target: string; group: string };
const pairsOf = (lang: string): Pair[] =>
  heldout.filter((row) => row["lang"] === lang).map((row, index) => ({ source: row["en"]!, target: row["target"]!, group: `${index}` }));

/** The misaligned rule on one field of a file, with what it learned from the whole file (as `kielo clean` does). */
function misaligned(file: readonly Pair[], index: number, lang: string, ruleConfig = config): string | undefined {
  const model = learnAlignment(`en-${lang}`, file, ruleConfig.misaligned);
  assert.ok(model !== undefined);
  const { source, target, group } = file[index]!;
  const context = { path: "text", target, source, targetLang: lang, sourceLang: "en", bounds: undefined, alignment: model, group, translatorIssues: [], scaffolding: [] };
  return RULE_FUNCTIONS.misaligned(context, ruleConfig)[0]?.detail;
}

/** The other message whose source shares the most tokens with this one's and is about as long (a swap that passes every length check). */
function mostSimilar(pairs: readonly Pair[], index: number): number | undefined {
  const { source, target } = pairs[index]!;
  const tokens = new Set(alignmentTokens(source));
  let best: { index: number; shared: number } | undefined;
  for (const [other, pair] of pairs.entries()) {
    if (other === index || pair.target === target || Math.abs(pair.source.length - source.length) > 0.15 * source.length) continue;
    const shared = alignmentTokens(pair.source).filter((token) => tokens.has(token)).length;
    if (best === undefined || shared > best.shared) best = { index: other, shared };
  }
  return best?.index;
}

test("a target swapped with a near paraphrase's translation is named with the source it translates", () => {
  const pairs = pairsOf("hi");
  const index = pairs.findIndex((pair) => pair.source === "Current text of the buffer");
  const owner = pairs.findIndex((pair) => pair.source === "Text on the progress bar");
  assert.ok(index >= 0 && owner >= 0);
  // "बफर का मौजूदा पाठ" in place of "प्रगति बार पर पाठ": both speak of a text, so the own source explains some of it.
  const file = pairs.map((pair, i) => (i === index ? { ...pair, target: pairs[owner]!.target } : pair));
  assert.match(misaligned(file, index, "hi") ?? "", /translates another source of the file better .*"Text on the progress bar"/);
  assert.equal(misaligned(file, index, "hi", withoutRival), undefined);
  // The untouched file: neither row is flagged.
  assert.equal(misaligned(pairs, index, "hi"), undefined);
  assert.equal(misaligned(pairs, owner, "hi"), undefined);
});

test("held-out gettext: swaps with the most similar message are found far more often with the rival source; good rows stay", (t) => {
  for (const lang of ["fi", "ja", "hi"]) {
    const pairs = pairsOf(lang);
    const flagged = pairs.filter((_, index) => misaligned(pairs, index, lang) !== undefined);
    assert.ok(flagged.length <= 0.01 * pairs.length, `${lang}: ${flagged.length}/${pairs.length} good translations flagged: ${flagged.map((pair) => pair.target).join(" | ")}`);
    let swaps = 0;
    let caught = 0;
    let caughtWithout = 0;
    for (const index of pairs.keys()) {
      const other = mostSimilar(pairs, index);
      if (other === undefined) continue;
      const file = pairs.map((pair, i) => (i === index ? { ...pair, target: pairs[other]!.target } : pair));
      swaps += 1;
      if (misaligned(file, index, lang) !== undefined) caught += 1;
      if (misaligned(file, index, lang, withoutRival) !== undefined) caughtWithout += 1;
    }
    t.diagnostic(`${lang}: ${flagged.length}/${pairs.length} good flagged; ${caught}/${swaps} swaps caught (${caughtWithout} without the rival)`);
    assert.ok(swaps >= 100, `${lang}: ${swaps} swaps`);
    assert.ok(caught >= 2 * caughtWithout && caught / swaps >= 0.45, `${lang}: ${caught}/${swaps} swaps caught, ${caughtWithout} without the rival`);
  }
});
