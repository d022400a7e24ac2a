// The langdetect port against Python langdetect 1.0.9 (DetectorFactory.seed = 0) on the fixture
// corpus: real responses, prompts and messages in many languages plus derived edge cases.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { detect, detectLangs, LangDetectException, loadLangDetectModel, type LanguageProbability } from "../../../src/eval/langid/langdetect.ts";
import { PROFILE_ORDER } from "../../../src/eval/langid/profiles.ts";
import { fixturesDir, runPythonPeer } from "./peer.ts";

interface FixtureText {
  id: string;
  source: string;
  kind: string;
  text: string;
}

interface PeerResult {
  detect: string | null;
  langs: Array<[string, number]> | null;
  error: string | null;
}

const texts: FixtureText[] = readFileSync(`${fixturesDir}texts.jsonl`, "utf8")
  .split("\n")
  .filter((line) => line !== "")
  .map((line) => JSON.parse(line) as FixtureText);

const reference = runPythonPeer<{ listdir_order: string[]; forced_order: boolean; results: PeerResult[] }>({
  mode: "detect",
  texts: texts.map((t) => t.text),
  order: PROFILE_ORDER,
});

type Outcome = { ok: true; lang: string; langs: LanguageProbability[] } | { ok: false; error: string };

function runPort(text: string): Outcome {
  try {
    return { ok: true, lang: detect(text), langs: detectLangs(text) };
  } catch (error) {
    if (error instanceof LangDetectException) return { ok: false, error: error.message };
    throw error;
  }
}

const outcomes = texts.map((t) => runPort(t.text));

test("the corpus is broad enough: ≥ 500 texts, ≥ 10 detected languages, every edge-case kind", () => {
  assert.ok(texts.length >= 500, `${texts.length} texts`);
  const languages = new Set(reference.results.map((r) => r.detect).filter((l) => l !== null));
  assert.ok(languages.size >= 10, `languages: ${[...languages].join(" ")}`);
  const kinds = new Set(texts.map((t) => t.kind));
  for (const kind of ["short", "mixed", "all-caps", "code", "url-email", "vietnamese-nfd", "romanian", "cjk", "farsi", "arabic", "long", "no-features", "response-language"]) {
    assert.ok(kinds.has(kind), `missing kind ${kind}`);
  }
  assert.ok(reference.results.some((r) => r.error !== null), "some texts must make the reference raise");
  if (reference.forced_order) {
    console.log(`note: this reference listed its profiles in a different order (${reference.listdir_order.join(",")}); it was rebuilt in kielo's order`);
  }
});

test("detect() agrees with the reference on every text, including which texts raise", () => {
  const disagreements: string[] = [];
  texts.forEach((t, i) => {
    const ref = reference.results[i] as PeerResult;
    const port = outcomes[i] as Outcome;
    const refSays = ref.error !== null ? `raise ${ref.error}` : ref.detect;
    const portSays = port.ok ? port.lang : `raise ${port.error}`;
    if (refSays !== portSays) disagreements.push(`${t.id}: reference ${refSays}, port ${portSays}`);
  });
  assert.deepEqual(disagreements, []);
});

test("detect_langs() probabilities agree with the reference to 1e-9", () => {
  let exact = 0;
  let compared = 0;
  texts.forEach((t, i) => {
    const ref = reference.results[i] as PeerResult;
    const port = outcomes[i] as Outcome;
    if (ref.langs === null || !port.ok) return;
    assert.deepEqual(port.langs.map((l) => l.lang), ref.langs.map(([lang]) => lang), `${t.id}: languages`);
    port.langs.forEach((l, j) => {
      const expected = (ref.langs as Array<[string, number]>)[j]?.[1] as number;
      compared++;
      if (l.prob === expected) exact++;
      assert.ok(Math.abs(l.prob - expected) <= 1e-9, `${t.id}: ${l.lang} ${l.prob} vs ${expected}`);
    });
  });
  assert.ok(compared > texts.length / 2);
  console.log(`probabilities compared: ${compared}, bit-identical: ${exact}`);
});

test("the profile order is replicated: both sides in reversed order still agree bit for bit", () => {
  // The order changes the float summation order, so probabilities move in the last bits; the port
  // must move exactly as the reference does.
  const reversed = [...PROFILE_ORDER].reverse();
  const sample = texts.slice(0, 80);
  const peer = runPythonPeer<{ forced_order: boolean; results: PeerResult[] }>({ mode: "detect", texts: sample.map((t) => t.text), order: reversed });
  assert.equal(peer.forced_order, true);
  const model = loadLangDetectModel(reversed);
  let differsFromDefaultOrder = 0;
  sample.forEach((t, i) => {
    const ref = peer.results[i] as PeerResult;
    if (ref.langs === null) return;
    const port = detectLangs(t.text, {}, model);
    assert.deepEqual(port.map((l) => [l.lang, l.prob]), ref.langs, t.id);
    const usual = outcomes[i] as Outcome;
    if (usual.ok && usual.langs.some((l, j) => l.prob !== port[j]?.prob)) differsFromDefaultOrder++;
  });
  assert.ok(differsFromDefaultOrder > 0, "reversing the order should change some probabilities in the last bits");
});
