/**
 * A study whose Finnish instructions are English records translated by a `kielo translate` step
 * (against the loopback OpenAI-compatible server answering with real DeepL Finnish) and cleaned
 * by a `kielo clean` step, then mixed and trained on the tiny model. A re-run skips everything;
 * a forced translate step runs again from the kielo.db cache: the server sees no new request.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { toJsonl } from "../../src/data/jsonl.ts";
import { startDeeplServer } from "../translate/helpers/deepl-server.ts";
import { loadFixtureSet } from "../translate/helpers/fixture-records.ts";
import { doneSteps, kielo, root, tempDir, writeStudy } from "./helpers.ts";

const KEY = "study-test-key";

function study(english: string, url: string): string {
  return `name: translated
model: ${root}/fixtures/models/stories260K/hf
target: fi
data:
  instructions:
    en: ${english}
    fi:
      translate: { from: en, model: deepl-replay, base_url: ${url}, api_key_env: STUDY_TRANSLATE_KEY, options: { concurrency: 4, max_retries: 0 } }
      clean: {}
mixes: { base: en, add: fi, fractions: [0.5], seed: 42 }
sft:
  recipe: ${root}/recipes/tiny-sft.yaml
  set: { training.epochs: 1 }
eval: { base: false }
resources: { cpu_parallel: 2 }
`;
}

test("Finnish data translated and cleaned by study steps feeds SFT; a forced re-translation is served from the cache", { timeout: 120_000 }, async () => {
  const dir = tempDir("study-translated");
  const fixtures = loadFixtureSet();
  const english = fixtures.english.filter((r) => r.kind === "conversation" && r.id.startsWith("dolly"));
  assert.ok(english.length >= 20, `${english.length} English conversations`);
  const englishFile = join(dir, "en.jsonl");
  writeFileSync(englishFile, toJsonl(english));
  const server = await startDeeplServer(fixtures.pairs, { apiKey: KEY });
  try {
    const file = writeStudy(dir, study(englishFile, server.url), "translated.yaml");
    const work = join(dir, "work");
    const env = { KIELO_DB: join(dir, "kielo.db"), STUDY_TRANSLATE_KEY: KEY, OPENAI_API_KEY: "", KIELO_API_KEY: "" };
    const run = (...extra: string[]) => kielo(["study", "run", file, "--work-dir", work, ...extra], { cwd: dir, env });

    const plan = await kielo(["study", "plan", file, "--work-dir", work], { cwd: dir, env });
    assert.equal(plan.code, 0, plan.stderr);
    for (const id of ["translate/fi-instructions", "clean/fi-instructions", "mix/en-fi-50pct", "train/sft-en-fi-50pct-default"]) assert.match(plan.stdout, new RegExp(id));

    const first = await run();
    assert.equal(first.code, 0, first.stderr + first.stdout);
    assert.match(first.stdout, /4 steps run, 0 already done, 0 failed/);
    const requests = server.requests;
    assert.ok(requests > 0);
    assert.ok(server.authorizations.has(`Bearer ${KEY}`), "the key from api_key_env is sent");
    const translateLog = join(work, "logs", "translate", "fi-instructions.log");
    assert.match(readFileSync(translateLog, "utf8"), /\(0 from cache, \d+ generated\)/);

    // The cleaned translation is the Finnish data: the mix holds DeepL's Finnish of those rows.
    const cleaned = readFileSync(join(work, "steps", "clean", "fi-instructions", "records.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: string; lang: string; messages: { content: string }[] });
    assert.ok(cleaned.length >= english.length / 2, `${cleaned.length} of ${english.length} rows kept by clean`);
    const reference = new Map(fixtures.finnish.map((r) => [r.id, r]));
    for (const row of cleaned) {
      assert.equal(row.lang, "fi");
      assert.deepEqual(row.messages.map((m) => m.content), (reference.get(row.id) as { messages: { content: string }[] }).messages.map((m) => m.content));
    }
    const mix = readFileSync(join(work, "steps", "mix", "en-fi-50pct", "en-fi-50pct.jsonl"), "utf8");
    assert.ok(mix.split("\n").some((l) => l.includes('"lang":"fi"')), "Finnish rows in the mix");
    const trained = doneSteps(work);
    assert.equal(trained.size, 4);

    const again = await run();
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /0 steps run, 4 already done, 0 failed/);
    assert.equal(server.requests, requests);

    const forced = await run("--force", "translate/*");
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /1 steps run, 3 already done, 0 failed/);
    assert.equal(server.requests, requests, "the forced translation sent no request: every segment came from the cache");
    const log = readFileSync(translateLog, "utf8");
    assert.match(log.trim().split("\n").at(-1)!, /\(\d+ from cache, 0 generated\)/);
    const after = doneSteps(work);
    for (const [id, at] of trained) assert.equal(after.get(id) !== at, id === "translate/fi-instructions", id);
  } finally {
    await server.close();
  }
});

test("preference pairs translated from a records file: with clean: false the DPO run waits on the translate step itself", async () => {
  const dir = tempDir("study-translated-plan");
  const text = study(join(root, "studies/data/tiny-fi-train.jsonl"), "http://127.0.0.1:9/v1").replace(
    "mixes:",
    `  preferences:\n    fi: { translate: { from: ${root}/examples/tiny-train/pairs-en.jsonl, source_lang: en, model: m }, clean: false }\nmixes:`,
  ) + `dpo:\n  recipe: ${root}/recipes/tiny-dpo.yaml\n  from: { sft: en-fi-50pct/default }\n  data: { fi: [fi] }\n  beta: [0.1]\n`;
  const file = writeStudy(dir, text, "pairs.yaml");
  const plan = await kielo(["study", "plan", file, "--work-dir", join(dir, "work")], { cwd: dir, env: { KIELO_DB: join(dir, "kielo.db") } });
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /translate\/fi-preferences \w+ waiting\n/);
  assert.doesNotMatch(plan.stdout, /clean\/fi-preferences/);
  assert.match(plan.stdout, /train\/dpo-fi-b0\.1 \w+ waiting ← .*translate\/fi-preferences/);
  // A named SFT model is chosen without any evaluation: select waits only on its training.
  assert.match(plan.stdout, /select\/dpo-init \w+ waiting ← train\/sft-en-fi-50pct-default\n/);
});
