/**
 * True statuses and the `kielo runs` commands, through the real CLI and a real kielo.db: a command
 * stopped by Ctrl-C or SIGTERM leaves its run `interrupted`, one killed outright shows as `died`;
 * the list filters, `show` and `compare`, and the errors for ids kielo.db does not have.
 *
 * The command held mid-run is `kielo translate` against a local OpenAI-compatible server that
 * accepts the requests and never answers them: it records its run, then waits for as long as the
 * test wants.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";

const root = new URL("../../", import.meta.url).pathname;
const kielo = join(root, "bin", "kielo.js");
const workspace = await mkdtemp(join(tmpdir(), "kielo-runs-"));
const dbPath = join(workspace, "kielo.db");
const env = { ...process.env, KIELO_DB: dbPath };

function kieloSync(args: string[]) {
  return spawnSync(process.execPath, [kielo, ...args], { cwd: workspace, env, encoding: "utf8" });
}

function runsJson(args: string[] = []): { id: number; kind: string; label: string | null; status: string }[] {
  const result = kieloSync(["runs", "--json", ...args]);
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as { id: number; kind: string; label: string | null; status: string }[];
}

function runningRows(): number {
  if (!existsSync(dbPath)) return 0;
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    return (db.prepare("SELECT COUNT(*) AS n FROM runs WHERE status = 'running'").get() as { n: number }).n;
  } catch {
    return 0; // not migrated yet
  } finally {
    db.close();
  }
}

// Requests are held open, never answered (ended when the test is over).
const held: ServerResponse[] = [];
const server = createServer((request, response) => {
  request.resume();
  held.push(response);
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
const records = join(root, "examples", "tiny-train", "sft-fi.jsonl");

/** Start `kielo translate` against the silent server; resolves once its run is recorded. */
async function heldCommand(name: string) {
  const before = runningRows();
  const args = ["translate", records, "--from", "en", "--to", "fi", "--model", "m", "--base-url", baseUrl, "--out", join(workspace, `${name}.jsonl`), "--quiet"];
  const child = spawn(process.execPath, [kielo, ...args], { cwd: workspace, env });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  for (let i = 0; i < 300 && runningRows() === before; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  if (runningRows() !== before + 1) {
    child.kill("SIGKILL");
    assert.fail(`the translate run was not recorded: ${stderr}`);
  }
  const closed = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));
  return { child, closed, stderr: () => stderr };
}

test("Ctrl-C and SIGTERM leave a run interrupted; a killed process's run is shown as died", async () => {
  const sigint = await heldCommand("a");
  assert.equal(runsJson()[0]!.status, "running");
  sigint.child.kill("SIGINT");
  assert.deepEqual(await sigint.closed, { code: 130, signal: null });

  const sigterm = await heldCommand("b");
  sigterm.child.kill("SIGTERM");
  assert.equal((await sigterm.closed).code, 143);

  const killed = await heldCommand("c");
  killed.child.kill("SIGKILL");
  assert.equal((await killed.closed).signal, "SIGKILL");

  for (const response of held) response.destroy();
  server.close();
  const runs = runsJson();
  assert.deepEqual(runs.map((r) => [r.kind, r.status]), [["translate", "died"], ["translate", "interrupted"], ["translate", "interrupted"]]);
  // The row itself still says running (nothing could write it): the status is found, not stored.
  const shown = kieloSync(["runs", "show", String(runs[0]!.id)]);
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /^run \d+: translate, died$/m);
  assert.match(shown.stdout, /process \d+ on /);
  assert.deepEqual(runsJson(["--status", "died"]).map((r) => r.id), [runs[0]!.id]);
  assert.deepEqual(runsJson(["--status", "interrupted"]).length, 2);
});

test("Ctrl-C while the engine generates for a command leaves its run interrupted, not failed", async () => {
  const model = join(root, "fixtures", "models", "stories260K", "hf");
  const args = ["translate", join(root, "resources", "translate", "example-en.jsonl"), "--to", "fi", "--backend", "engine", "--model", model, "--max-tokens", "48", "--out", join(workspace, "engine.jsonl"), "--quiet"];
  const child = spawn(process.execPath, [kielo, ...args], { cwd: workspace, env: { ...env, OMP_NUM_THREADS: "1" } });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<number | null>((resolve) => child.once("close", resolve));
  // Wait for the engine: a child process of kielo.
  let engine = false;
  for (let i = 0; i < 600 && !engine && child.exitCode === null; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    engine = spawnSync("pgrep", ["-P", String(child.pid)], { encoding: "utf8" }).stdout.trim() !== "";
  }
  assert.ok(engine, `the engine did not start: ${stderr}`);
  child.kill("SIGINT");
  assert.equal(await closed, 130, stderr);
  const [run] = runsJson(["--kind", "translate", "--limit", "1"]);
  assert.equal(run!.status, "interrupted");
});

test("kielo runs filters, show and compare; unknown ids and bad filters are clear errors", () => {
  const all = runsJson();
  assert.ok(all.length >= 3);
  assert.equal(runsJson(["--kind", "sft"]).length, 0);
  assert.equal(runsJson(["--kind", "translate", "--limit", "2"]).length, 2);
  assert.equal(runsJson(["--since", "1h"]).length, all.length);
  assert.equal(runsJson(["--since", "2999-01-01"]).length, 0);
  assert.equal(runsJson(["--label", "no such label"]).length, 0);

  const text = kieloSync(["runs"]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^id\s+kind\s+label\s+status\s+started \(UTC\)\s+duration\s+metrics$/m);
  assert.match(text.stdout, /translate\s+-\s+died/);

  const [, a, b] = all; // the two translations held by the silent server (the newest ran on the engine)
  const compare = kieloSync(["runs", "compare", String(a!.id), String(b!.id), "--json"]);
  assert.equal(compare.status, 0, compare.stderr);
  const comparison = JSON.parse(compare.stdout) as { runs: { id: number }[]; settings: { key: string; values: unknown[] }[] };
  assert.deepEqual(comparison.runs.map((r) => r.id), [a!.id, b!.id]);
  // The two translations wrote different files: that is the setting that differs.
  assert.deepEqual(comparison.settings.map((s) => s.key), ["output"]);

  for (const args of [["runs", "show", "9999"], ["runs", "compare", String(a!.id), "9999"]]) {
    const result = kieloSync(args);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^kielo: no run with id 9999 in this kielo\.db\nhint: /);
  }
  const bad = [
    [["runs", "show", "abc"], /run id must be an integer/],
    [["runs", "compare", String(a!.id)], /at least two run ids/],
    [["runs", "--status", "sleeping"], /--status must be one of running, done, failed, interrupted, died/],
    [["runs", "--since", "yesterday"], /--since must be a date/],
  ] as const;
  for (const [args, message] of bad) {
    const result = kieloSync([...args]);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, message);
    assert.doesNotMatch(result.stderr, /internal error/);
  }
});
