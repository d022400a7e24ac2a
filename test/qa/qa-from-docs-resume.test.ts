/**
 * A real `kielo data qa-from-docs` run killed with SIGKILL mid-run (a slow loopback
 * OpenAI-compatible writer: every reply held back), then run again: the second run must not ask
 * for any chunk the first committed to kielo.db, must ask for each other chunk once, and must
 * write the same records as a run that was never interrupted.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { startOpenAIServer, type ChatMessage, type OpenAIServer } from "../eval/text/openai-server.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PDF = join(ROOT, "test/fixtures/qa/dolly-first-12.pdf");
const TOKENIZER = join(ROOT, "fixtures/models/stories260K/hf");

const contextOf = (messages: ChatMessage[]) => messages.at(-1)!.content.replace(/^CONTEXT:\n/, "");
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

function start(cwd: string, out: string, url: string) {
  const args = ["data", "qa-from-docs", PDF, "--out", out, "--backend", "openai", "--base-url", url, "--model", "writer", "--concurrency", "2"];
  args.push("--tokenizer", TOKENIZER, "--chunk-tokens", "256", "--db", "kielo.db", "--quiet");
  const child = spawn(process.execPath, [join(ROOT, "bin/kielo.js"), ...args], { cwd });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr })),
  );
  return { child, done };
}

/** The chunk hashes committed to a kielo.db (empty while it or its table does not exist yet). */
function committed(db: string): Set<string> {
  if (!existsSync(db)) return new Set();
  let store: DatabaseSync | undefined;
  try {
    store = new DatabaseSync(db, { readOnly: true });
    return new Set((store.prepare("SELECT chunk_hash FROM qa_chunks").all() as { chunk_hash: string }[]).map((row) => row.chunk_hash));
  } catch {
    return new Set(); // the run is still making the file or its tables (migrations, the switch to WAL)
  } finally {
    store?.close();
  }
}

describe("kielo data qa-from-docs, killed and resumed", () => {
  let server: OpenAIServer;

  before(async () => {
    // Pairs that depend on the chunk alone, so that any run writes the same records; each reply
    // 150 ms late, so that the run is still asking when it is killed.
    server = await startOpenAIServer(
      (messages) => {
        const context = contextOf(messages);
        const words = context.split(/\s+/).slice(0, 8).join(" ");
        return JSON.stringify([
          { question: `What does the passage beginning "${words}" say?`, answer: context.slice(0, 120) },
          { question: `How long is the passage beginning "${words}"?`, answer: `${context.length} characters` },
        ]);
      },
      { delayMs: 150 },
    );
  });
  after(() => server.close());

  it("asks only for the chunks the killed run had not committed, and writes what an uninterrupted run writes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kielo-qa-kill-"));
    const db = join(dir, "kielo.db");
    const first = start(dir, "qa.jsonl", server.url);
    let saved = new Set<string>();
    for (let waited = 0; saved.size < 3; waited += 25) {
      assert.ok(waited < 60_000, "the run committed no 3 chunks within 60 s");
      await sleep(25);
      saved = committed(db);
    }
    first.child.kill("SIGKILL");
    const killed = await first.done;
    assert.equal(killed.signal, "SIGKILL", `the run ended before it was killed: ${killed.stderr}`);
    assert.ok(!existsSync(join(dir, "qa.jsonl")), "a killed run leaves no partial --out");
    saved = committed(db); // chunks committed between the last look and the kill count too
    const askedBefore = server.requests.length;

    const second = await start(dir, "qa.jsonl", server.url).done;
    assert.equal(second.status, 0, second.stderr);
    const [, chunks, cached] = /→ (\d+) chunks \((\d+) from the cache, 0 skipped\)/.exec(second.stdout)!.map(Number) as [number, number, number];
    const all = committed(db);
    assert.ok(saved.size < all.size, `the run was killed after all ${all.size} chunks were committed; nothing left to resume`);
    // The document repeats a sentence of one record in another, so two chunks can have the same
    // text (one kielo.db row): chunks are counted by run, texts by hash.
    const asked = server.requests.slice(askedBefore).map((request) => sha256(contextOf(request.messages)));
    assert.deepEqual(asked.filter((hash) => saved.has(hash)), [], "a committed chunk was asked for again");
    assert.deepEqual(new Set(asked), new Set([...all].filter((hash) => !saved.has(hash))));
    assert.ok(cached >= saved.size);
    assert.equal(asked.length, chunks - cached, "each chunk not in the cache is asked for once");

    const fresh = mkdtempSync(join(tmpdir(), "kielo-qa-whole-"));
    const whole = await start(fresh, "qa.jsonl", server.url).done;
    assert.equal(whole.status, 0, whole.stderr);
    assert.match(whole.stdout, new RegExp(`→ ${chunks} chunks \\(0 from the cache`));
    assert.equal(readFileSync(join(dir, "qa.jsonl"), "utf8"), readFileSync(join(fresh, "qa.jsonl"), "utf8"));
  });
});
