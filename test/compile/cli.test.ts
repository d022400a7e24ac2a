/** The real `kielo` binary: data compile and data inspect end to end, with a real kielo.db. */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { fixtures, root, tempDir, tokenizerDirs } from "./helpers.ts";

const bin = join(root, "bin/kielo.js");

function kielo(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("compile → summary, run recorded in kielo.db; inspect marks trained text with [[ ]] when piped", () => {
  const dir = tempDir();
  const db = join(dir, "kielo.db");
  const out = join(dir, "compiled");
  const records = join(fixtures, "oasst-fi-threads.jsonl");
  const args = ["data", "compile", records, "--tokenizer", tokenizerDirs.qwen3, "--out", out, "--policy", "assistant"];
  const compiled = kielo(args, { KIELO_DB: db });
  assert.equal(compiled.code, 0, compiled.stderr);
  assert.match(compiled.stdout, /^compiled 6 of 6 rows → /);
  assert.match(compiled.stdout, /template model, policy assistant/);
  assert.match(compiled.stderr, /compile: 6\/6 rows \(100\.0%\)/);

  const again = kielo(args, { KIELO_DB: db });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /is up to date/);

  const store = new DatabaseSync(db);
  const runs = store.prepare("SELECT kind, status, summary_json FROM runs ORDER BY id").all() as { kind: string; status: string; summary_json: string }[];
  store.close();
  assert.deepEqual(runs.map((r) => [r.kind, r.status]), [["compile", "done"], ["compile", "done"]]);
  const summary = JSON.parse(runs[0]!.summary_json) as { status: string; manifest: { rows_out: number; policy: string } };
  assert.equal(summary.status, "written");
  assert.equal(summary.manifest.rows_out, 6);

  const row = kielo(["data", "inspect", out, "--row", "0"]);
  assert.equal(row.code, 0, row.stderr);
  assert.match(row.stdout, /trained text is shown \[\[like this\]\]/);
  assert.match(row.stdout, /── document 0 · id oasst-fi-e0cf4fa2 · source line 1 · \d+ tokens, \d+ trained/);
  // Special tokens literal; the prompt and header plain; the reply and its <|im_end|>\n inside [[ ]].
  assert.match(row.stdout, /<\|im_start\|>user\nMitä mieltä olet ChatGPT:stä\?<\|im_end\|>\n<\|im_start\|>assistant\n\[\[Koska avoimen/);
  assert.match(row.stdout, /kehittämisen avulla\.<\|im_end\|>\n\]\]<\|im_start\|>user\n/);
  assert.doesNotMatch(row.stdout, /\x1b\[/);

  const colour = kielo(["data", "inspect", out, "--id", "oasst-fi-e0cf4fa2", "--color"]);
  assert.equal(colour.code, 0, colour.stderr);
  assert.match(colour.stdout, /\x1b\[2m<\|im_start\|>system/);
  assert.match(colour.stdout, /\x1b\[32;4mKoska avoimen/);

  const stats = kielo(["data", "inspect", out]);
  assert.equal(stats.code, 0, stats.stderr);
  assert.match(stats.stdout, /rows in 6, rows out 6, truncated 0/);
  assert.match(stats.stdout, /trained [\d,]+ \(\d+\.\d%\)/);
  assert.match(stats.stdout, /length histogram \(tokens per document\):\n( +\d+–\d+ +│█* \d+\n){6}/);
});

test("user mistakes exit with 1 and a message, no stack trace", () => {
  const dir = tempDir();
  const env = { KIELO_DB: join(dir, "kielo.db") };
  const noTokenizer = kielo(["data", "compile", join(fixtures, "dolly-en-fi.jsonl"), "--tokenizer", dir, "--out", join(dir, "o")], env);
  assert.equal(noTokenizer.code, 1);
  assert.equal(noTokenizer.stderr.split("\n")[0], `kielo: tokenizer folder ${dir} has no tokenizer.json (nor tokenizer.json.gz)`);

  const render = kielo(
    ["data", "compile", join(fixtures, "oasst-fi-threads.jsonl"), "--tokenizer", tokenizerDirs.mistral, "--template", `file:${join(fixtures, "mistral-instruct.jinja")}`, "--out", join(dir, "o")],
    env,
  );
  assert.equal(render.code, 1);
  assert.match(render.stderr, /oasst-fi-threads\.jsonl:1 \(field messages\): record oasst-fi-e0cf4fa2: chat template file:.*failed to render: Conversation roles must alternate/);
  assert.doesNotMatch(render.stderr, /\n {4}at /);

  const badRow = kielo(["data", "inspect", join(root, "fixtures/models/stories260K/hf"), "--row", "0"]);
  assert.equal(badRow.code, 1);
  assert.match(badRow.stderr, /holds no compiled data \(no manifest\.json\)/);
});

test("--help explains every option", () => {
  const compile = kielo(["data", "compile", "--help"]);
  for (const flag of ["--tokenizer", "--out", "--template", "--policy", "--max-length", "--truncation", "--pack", "--force"]) assert.match(compile.stdout, new RegExp(flag));
  const inspect = kielo(["data", "inspect", "--help"]);
  for (const flag of ["--row", "--id", "--stats", "--tokenizer", "--color"]) assert.match(inspect.stdout, new RegExp(flag));
});

test("Ctrl-C during a compile leaves no output and no temporary folder", async () => {
  const dir = tempDir();
  const lines = readFileSync(join(fixtures, "dolly-en-fi.jsonl"), "utf8");
  const records = join(dir, "many.jsonl");
  // ~400 copies of the fixture (32,000 rows, seconds of work even on a fast machine): long enough
  // that the interrupt lands while compiling.
  writeFileSync(records, Array.from({ length: 400 }, (_, i) => lines.replaceAll('"id":"dolly-', `"id":"c${i}-dolly-`)).join(""));
  const out = join(dir, "compiled");
  const child = spawn(process.execPath, [bin, "data", "compile", records, "--tokenizer", tokenizerDirs.qwen3, "--out", out], {
    env: { ...process.env, KIELO_DB: join(dir, "kielo.db") },
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  // The compile is under way once its run is recorded as running; then press Ctrl-C.
  const dbPath = join(dir, "kielo.db");
  for (let i = 0; i < 600 && child.exitCode === null; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (!existsSync(dbPath)) continue;
    const db = new DatabaseSync(dbPath, { readOnly: true });
    let running = false;
    try {
      running = db.prepare("SELECT count(*) AS n FROM runs WHERE status = 'running'").get()!["n"] === 1;
    } catch {
      // the schema is still being created
    } finally {
      db.close();
    }
    if (running) {
      child.kill("SIGINT");
      break;
    }
  }
  const code = await exited;
  assert.equal(code, 130, stderr);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(dir).filter((name) => name.includes("compiled")), []);
  const store = new DatabaseSync(join(dir, "kielo.db"));
  const runs = store.prepare("SELECT kind, status FROM runs").all();
  store.close();
  assert.deepEqual(runs.map((r) => [r["kind"], r["status"]]), [["compile", "interrupted"]]);
});
