/**
 * `kielo … | head -1`: a reader that closes the pipe early stops kielo quietly (no EPIPE stack
 * trace); a command that had finished keeps its own exit status, one cut short exits 141.
 *
 * The reader here closes its end before kielo writes anything, which is the worst case of `head`
 * (it may close after any line).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = join(root, "bin/kielo.js");

interface Closed {
  code: number | null;
  stderr: string;
}

/** Run `node args…` with stdout closed at once; stderr is read. */
function withStdoutClosed(args: readonly string[], env: Record<string, string> = {}): Promise<Closed> {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  child.stdout.destroy();
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stderr })));
}

test("kielo data convert --help | head -1: exit 0, no stack trace", async () => {
  const result = await withStdoutClosed([bin, "data", "convert", "--help"]);
  assert.equal(result.stderr, "");
  assert.equal(result.code, 0);
});

test("kielo eval ifeval … --no-store | head -5: exit 0, no stack trace", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kielo-pipes-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sample = join(root, "test/fixtures/ifeval/sample");
  const result = await withStdoutClosed(
    [bin, "eval", "ifeval", "--responses", join(sample, "responses.jsonl"), "--prompts", join(sample, "prompts.jsonl"), "--no-store", "--quiet"],
    { KIELO_DB: join(dir, "kielo.db") },
  );
  assert.equal(result.stderr, "");
  assert.equal(result.code, 0);
});

test("a pipe closed while the command still writes: exit 141, quietly", async () => {
  // kielo's own pipe guard, on a writer that has not finished when the pipe closes.
  const script = `
    const { guardPipes } = await import(${JSON.stringify(join(root, "src/cli/pipes.ts"))});
    guardPipes();
    const line = "x".repeat(1000) + "\\n";
    const timer = setInterval(() => process.stdout.write(line), 1);
    setTimeout(() => { clearInterval(timer); process.exit(0); }, 5000);
  `;
  const result = await withStdoutClosed(["--input-type=module", "-e", script]);
  assert.equal(result.stderr, "");
  assert.equal(result.code, 141);
});
