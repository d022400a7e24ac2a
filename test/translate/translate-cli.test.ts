/**
 * The real `kielo translate` CLI against the loopback server: a run killed with SIGKILL resumes
 * without re-requesting the segments it had finished; 400 and 401 end with a clear message.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { toJsonl } from "../../src/data/jsonl.ts";
import type { KieloRecord } from "../../src/data/records.ts";
import { openStore } from "../../src/store/db.ts";
import { textFields } from "../../src/text/fields.ts";
import { startDeeplServer } from "./helpers/deepl-server.ts";
import { loadFixtureSet } from "./helpers/fixture-records.ts";

const KIELO = fileURLToPath(new URL("../../bin/kielo.js", import.meta.url));
const fixtures = loadFixtureSet();
const dir = mkdtempSync(join(tmpdir(), "kielo-translate-cli-"));
const input = join(dir, "en.jsonl");
writeFileSync(input, toJsonl(fixtures.english));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  stdout: string;
}

function startKielo(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [KIELO, ...args], {
    env: { ...process.env, OPENAI_API_KEY: "", KIELO_API_KEY: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (data: string) => (stderr += data));
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (data: string) => (stdout += data));
  const done = new Promise<Run>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stderr, stdout })));
  return { child, done };
}

test("a SIGKILLed run resumes without re-requesting finished segments, and ends with the reference", async () => {
  const server = await startDeeplServer(fixtures.pairs, { delayMs: 20 });
  try {
    const db = join(dir, "resume.db");
    const out = join(dir, "fi.jsonl");
    const args = ["translate", input, "--to", "fi", "--out", out, "--model", "deepl-replay", "--base-url", server.url, "--concurrency", "3", "--db", db, "--quiet"];
    const first = startKielo(args);
    while (server.answered.size < 40) await new Promise((resolve) => setTimeout(resolve, 10));
    first.child.kill("SIGKILL");
    const killed = await first.done;
    assert.equal(killed.signal, "SIGKILL");
    assert.equal(existsSync(out), false, "no output is written before the run completes");

    const store = openStore(db);
    const committed = (store.prepare("SELECT source_text FROM translations").all() as { source_text: string }[]).map((row) => row.source_text);
    store.close();
    const answeredBeforeKill = server.answered.size;
    // Everything answered was committed, except at most what was in flight.
    assert.ok(committed.length >= answeredBeforeKill - 3, `${committed.length} committed of ${answeredBeforeKill} answered`);
    assert.ok(committed.length < new Set(fixtures.english.flatMap(textFields).map((f) => f.text)).size, "the run was killed mid-way");

    const second = await startKielo(args).done;
    assert.equal(second.code, 0, second.stderr);
    for (const text of committed) assert.equal(server.answered.get(text), 1, `re-requested: ${text.slice(0, 60)}`);
    assert.match(second.stderr, new RegExp(`${committed.length} from cache`));
    const rows = readFileSync(out, "utf8").trim().split("\n").map((line) => JSON.parse(line) as KieloRecord);
    assert.equal(rows.length, fixtures.finnish.length);
    for (const [i, row] of rows.entries()) assert.deepEqual(textFields(row), textFields(fixtures.finnish[i]!));

    // The review view of a translated row: source above or beside its translation.
    const shown = await startKielo([...args, "--show", fixtures.english[0]!.id]).done;
    assert.equal(shown.code, 0, shown.stderr);
    const english = fixtures.english[0]!;
    const finnishRow = fixtures.finnish[0]!;
    assert.match(shown.stdout, new RegExp(`^${english.id}  ✓ no rule broken$`, "m"));
    const firstWords = (text: string) => text.split(/\s+/).slice(0, 3).join(" ");
    assert.ok(shown.stdout.includes(firstWords(textFields(english)[0]!.text)), shown.stdout);
    assert.ok(shown.stdout.includes(firstWords(textFields(finnishRow)[0]!.text)), shown.stdout);

    // --from-cache rebuilds the same file without a request.
    const requests = server.requests;
    const rebuilt = join(dir, "fi-rebuilt.jsonl");
    const third = await startKielo([...args.slice(0, 5), rebuilt, ...args.slice(6), "--from-cache"]).done;
    assert.equal(third.code, 0, third.stderr);
    assert.equal(server.requests, requests);
    assert.equal(readFileSync(rebuilt, "utf8"), readFileSync(out, "utf8"));
  } finally {
    await server.close();
  }
});

test("401: a wrong API key ends with the status and the server's message, and the key is never shown or stored", async () => {
  const server = await startDeeplServer(fixtures.pairs, { apiKey: "sk-right-key" });
  try {
    const db = join(dir, "auth.db");
    const run = await startKielo(
      ["translate", input, "--to", "fi", "--out", join(dir, "auth.jsonl"), "--model", "m", "--base-url", server.url, "--db", db],
      { OPENAI_API_KEY: "sk-wrong-key-123" },
    ).done;
    assert.equal(run.code, 1);
    assert.match(run.stderr, /answered 401 Unauthorized: Incorrect API key provided\./);
    assert.match(run.stderr, /OPENAI_API_KEY or KIELO_API_KEY/);
    assert.doesNotMatch(run.stderr, /sk-wrong-key-123/);
    assert.ok(!readFileSync(db).includes("sk-wrong-key-123"));
    // A 401 is not retried: at most one request per worker (default concurrency 8).
    assert.ok(server.requests <= 8, `${server.requests} requests`);
    // KIELO_API_KEY is read too.
    const ok = await startKielo(
      ["translate", input, "--to", "fi", "--out", join(dir, "auth.jsonl"), "--model", "m", "--base-url", server.url, "--db", db, "--quiet"],
      { KIELO_API_KEY: "sk-right-key" },
    ).done;
    assert.equal(ok.code, 0, ok.stderr);
  } finally {
    await server.close();
  }
});

test("400: the status and the server's message, no retries", async () => {
  const server = await startDeeplServer(fixtures.pairs, { badRequest: "max_tokens is too large: 1024 > 512" });
  try {
    const run = await startKielo(
      ["translate", input, "--to", "fi", "--out", join(dir, "bad.jsonl"), "--model", "m", "--base-url", server.url, "--db", join(dir, "bad.db"), "--concurrency", "1"],
    ).done;
    assert.equal(run.code, 1);
    assert.match(run.stderr, /kielo: http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions answered 400 Bad Request: max_tokens is too large: 1024 > 512/);
    assert.equal(server.requests, 1);
  } finally {
    await server.close();
  }
});

test("an unreachable server is retried, then a clear error", async () => {
  const server = await startDeeplServer(fixtures.pairs);
  const url = server.url;
  await server.close();
  const run = await startKielo(
    ["translate", input, "--to", "fi", "--out", join(dir, "down.jsonl"), "--model", "m", "--base-url", url, "--db", join(dir, "down.db"), "--max-retries", "2", "--retry-delay", "10", "--concurrency", "1"],
  ).done;
  assert.equal(run.code, 1);
  assert.match(run.stderr, /giving up after 3 attempts: cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions: ECONNREFUSED/);
  assert.equal((run.stderr.match(/^retry: /gm) ?? []).length, 2);
});

test("--api-key-env: the key comes from the named variable; an unset one is a clear error before any request", async () => {
  const server = await startDeeplServer(fixtures.pairs, { apiKey: "named-key" });
  try {
    const args = ["translate", input, "--to", "fi", "--out", join(dir, "keyed.jsonl"), "--model", "m", "--base-url", server.url, "--db", join(dir, "keyed.db"), "--api-key-env", "KIELO_TEST_NAMED_KEY"];
    const unset = await startKielo(args).done;
    assert.equal(unset.code, 1);
    assert.match(unset.stderr, /--api-key-env KIELO_TEST_NAMED_KEY: that environment variable is not set/);
    assert.equal(server.requests, 0);
    const run = await startKielo(args, { KIELO_TEST_NAMED_KEY: "named-key", OPENAI_API_KEY: "other-key" }).done;
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual([...server.authorizations], ["Bearer named-key"]);
  } finally {
    await server.close();
  }
});
