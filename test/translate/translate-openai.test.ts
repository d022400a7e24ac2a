/**
 * Acceptance: translating real English rows through a real loopback OpenAI-compatible server that
 * answers with the real DeepL Finnish reproduces the reference Finnish exactly; concurrency,
 * retries, caching and the output row's provenance are checked on the way.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { toJsonl } from "../../src/data/jsonl.ts";
import type { KieloRecord } from "../../src/data/records.ts";
import { createOpenAIBackend } from "../../src/generate/openai.ts";
import type { DecodingSettings } from "../../src/generate/types.ts";
import { openStore } from "../../src/store/db.ts";
import { textFields } from "../../src/text/fields.ts";
import { loadPrompt } from "../../src/translate/prompt.ts";
import { translateFile } from "../../src/translate/translate.ts";
import { startDeeplServer, type DeeplServer } from "./helpers/deepl-server.ts";
import { loadFixtureSet } from "./helpers/fixture-records.ts";

const fixtures = loadFixtureSet();
const dir = mkdtempSync(join(tmpdir(), "kielo-translate-"));
const input = join(dir, "en.jsonl");
writeFileSync(input, toJsonl(fixtures.english));
const prompt = loadPrompt("en", "fi");

function decoding(stop: string[] = []): DecodingSettings {
  return { maxTokens: 1024, temperature: 0, topP: 1, seed: 7, stop };
}

function readOutput(path: string): KieloRecord[] {
  return readFileSync(path, "utf8").trim().split("\n").map((line) => JSON.parse(line) as KieloRecord);
}

function assertReproducesReference(rows: KieloRecord[]): void {
  assert.equal(rows.length, fixtures.finnish.length);
  for (const [i, row] of rows.entries()) {
    const reference = fixtures.finnish[i]!;
    assert.equal(row.id, reference.id);
    assert.equal(row.kind, reference.kind);
    assert.equal(row.lang, "fi");
    assert.deepEqual(textFields(row), textFields(reference), `row ${row.id}`);
    const meta = row.meta["translation"] as { source_id: string; source: unknown; issues: unknown[] };
    assert.equal(meta.source_id, fixtures.english[i]!.id);
    const source = fixtures.english[i]!;
    assert.deepEqual(meta.source, source.kind === "conversation" ? { messages: source.messages } : { prompt: source.prompt, chosen: source.chosen, rejected: source.rejected });
    assert.deepEqual(meta.issues, []);
  }
}

describe("translate through a loopback OpenAI-compatible server answering with real DeepL Finnish", () => {
  let server: DeeplServer;
  before(async () => {
    // Requests 3, 10, 17 … get 429; 5, 23, 41 … get 500: deterministic by arrival order.
    const fail429 = new Set(Array.from({ length: 30 }, (_, i) => 3 + 7 * i));
    const fail500 = new Set(Array.from({ length: 12 }, (_, i) => 5 + 18 * i));
    server = await startDeeplServer(fixtures.pairs, { fail429, fail500, delayMs: 5, apiKey: "sk-test-secret" });
  });
  after(() => server.close());

  test("chat endpoint: reference reproduced exactly, with ≤ limit in flight, retries on 429/500, each segment once", async () => {
    const db = openStore(join(dir, "chat.db"));
    const retries: string[] = [];
    const backend = createOpenAIBackend({
      baseUrl: server.url,
      model: "deepl-replay",
      endpoint: "chat",
      decoding: decoding(),
      concurrency: 4,
      timeoutMs: 10_000,
      retry: { maxAttempts: 6, baseDelayMs: 5, maxDelayMs: 50 },
      apiKey: "sk-test-secret",
      onRetry: (message) => retries.push(message),
    });
    const output = join(dir, "fi-chat.jsonl");
    const summary = await translateFile({
      input, output, from: "en", to: "fi", backend, decoding: decoding(), prompt, db, maxChars: 1000, translateJson: false, quiet: true,
    });
    assertReproducesReference(readOutput(output));
    assert.ok(server.maxInFlight > 1, `max in flight ${server.maxInFlight}`);
    assert.ok(server.maxInFlight <= 4, `max in flight ${server.maxInFlight}`);
    assert.ok(server.failures >= 5, `failures ${server.failures}`);
    assert.equal(retries.length, server.failures);
    assert.ok(retries.every((line) => !line.includes("sk-test-secret")));
    assert.deepEqual([...server.authorizations], ["Bearer sk-test-secret"]);
    // Every unique segment was answered exactly once; failed attempts were retried.
    assert.equal(summary.generated, summary.uniqueSegments);
    assert.equal(server.requests, summary.uniqueSegments + server.failures);
    assert.ok([...server.answered.values()].every((count) => count === 1));
    // Long messages were split (more segments than text fields).
    assert.ok(summary.segments > fixtures.english.flatMap(textFields).filter((field) => field.text !== "").length);

    // A second run is served from the cache: no request at all.
    const before = server.requests;
    const again = await translateFile({
      input, output: join(dir, "fi-chat-2.jsonl"), from: "en", to: "fi", backend, decoding: decoding(), prompt, db, maxChars: 1000, translateJson: false, quiet: true,
    });
    assert.equal(server.requests, before);
    assert.equal(again.generated, 0);
    assert.equal(again.cached, again.uniqueSegments);
    assert.equal(readFileSync(join(dir, "fi-chat-2.jsonl"), "utf8"), readFileSync(output, "utf8"));
    // Changed decoding settings are another cache entry.
    const other = createOpenAIBackend({ baseUrl: server.url, model: "deepl-replay", endpoint: "chat", decoding: { ...decoding(), temperature: 0.5 }, concurrency: 4, timeoutMs: 10_000, apiKey: "sk-test-secret", retry: { maxAttempts: 6, baseDelayMs: 5, maxDelayMs: 50 } });
    const fromCache = await translateFile({
      input, output: join(dir, "fi-chat-3.jsonl"), from: "en", to: "fi", backend: other, decoding: { ...decoding(), temperature: 0.5 }, prompt, db, maxChars: 1000, translateJson: false, quiet: true, fromCache: true,
    });
    assert.equal(fromCache.rowsWritten, 0);
    assert.equal(fromCache.rowsIncomplete, fixtures.english.length);
    db.close();
  });

  test("preference pairs sharing a prompt: the prompt is translated once and shared by both pairs", async () => {
    const pair = fixtures.english.find((record) => record.kind === "preference")!;
    if (pair.kind !== "preference") throw new Error("fixture has preference pairs");
    // A second pair on the same prompt (as in HelpSteer2/UltraFeedback: several pairs per prompt).
    const swapped = { ...pair, id: `${pair.id}-swapped`, chosen: pair.rejected, rejected: pair.chosen };
    const file = join(dir, "pairs.jsonl");
    writeFileSync(file, toJsonl([pair, swapped]));
    const db = openStore(join(dir, "pairs.db"));
    const backend = createOpenAIBackend({ baseUrl: server.url, model: "deepl-replay-pairs", endpoint: "chat", decoding: decoding(), concurrency: 2, timeoutMs: 10_000, apiKey: "sk-test-secret", retry: { maxAttempts: 6, baseDelayMs: 5, maxDelayMs: 50 } });
    const answeredBefore = new Map(server.answered);
    const output = join(dir, "pairs.fi.jsonl");
    const summary = await translateFile({ input: file, output, from: "en", to: "fi", backend, decoding: decoding(), prompt, db, maxChars: 1000, translateJson: false, quiet: true });
    db.close();
    assert.equal(summary.segments, 2 * summary.uniqueSegments);
    for (const [text, count] of server.answered) assert.ok(count - (answeredBefore.get(text) ?? 0) <= 1, `sent twice: ${text.slice(0, 60)}`);
    const [first, second] = readOutput(output);
    if (first?.kind !== "preference" || second?.kind !== "preference") throw new Error("preference rows expected");
    const reference = fixtures.finnish.find((record) => record.id === pair.id)!;
    if (reference.kind !== "preference") throw new Error("unreachable");
    assert.deepEqual(first.prompt, reference.prompt);
    assert.deepEqual(second.prompt, reference.prompt);
    assert.deepEqual([first.chosen, first.rejected], [reference.chosen, reference.rejected]);
    assert.deepEqual([second.chosen, second.rejected], [reference.rejected, reference.chosen]);
  });
});

describe("completions endpoint (base models)", () => {
  test("the few-shot completion prompt round-trips; an ignored stop string is cut", async () => {
    const server = await startDeeplServer(fixtures.pairs);
    try {
      const subset = join(dir, "subset.jsonl");
      writeFileSync(subset, toJsonl(fixtures.english.slice(0, 30)));
      const db = openStore(join(dir, "completions.db"));
      const dec = decoding(prompt.stop);
      const backend = createOpenAIBackend({ baseUrl: server.url, model: "deepl-replay", endpoint: "completions", decoding: dec, concurrency: 3, timeoutMs: 10_000 });
      const output = join(dir, "fi-completions.jsonl");
      await translateFile({ input: subset, output, from: "en", to: "fi", backend, decoding: dec, prompt, db, maxChars: 2000, translateJson: false, quiet: true });
      const rows = readOutput(output);
      assert.equal(rows.length, 30);
      for (const [i, row] of rows.entries()) assert.deepEqual(textFields(row), textFields(fixtures.finnish[i]!));
      db.close();
    } finally {
      await server.close();
    }
  });
});
