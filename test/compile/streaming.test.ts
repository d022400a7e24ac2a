/**
 * Compiling streams: documents reach the disk while records are still being read (memory holds the
 * batches in flight, not the dataset), and a compile busy with very long conversations still ends
 * promptly on SIGINT and SIGTERM.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { compileFolder } from "../../src/compile/compile-folder.ts";
import type { RecordLine } from "../../src/data/records-file.ts";
import { defaults, root, tempDir, tokenizer } from "./helpers.ts";

test("documents are written to disk while the records are still being read", async () => {
  const dir = tempDir();
  const out = join(dir, "compiled");
  const text = "Kerro minulle jotain kiinnostavaa suomen kielestä ja sen historiasta. ".repeat(20);
  const onDisk: number[] = [];
  async function* records(): AsyncGenerator<RecordLine> {
    for (let line = 1; line <= 1200; line++) {
      if (line % 200 === 0) {
        // The temporary folder of this compile: its tokens.bin so far.
        const tmp = readdirSync(dir).find((entry) => entry.startsWith(".compiled.tmp-"));
        const tokens = tmp === undefined ? undefined : join(dir, tmp, "tokens.bin");
        onDisk.push(tokens !== undefined && existsSync(tokens) ? statSync(tokens).size : 0);
      }
      yield {
        line,
        file: "generated",
        record: { kind: "conversation", id: `r${line}`, messages: [{ role: "user", content: `${line}` }, { role: "assistant", content: text }], meta: {} },
        raw: {},
      };
    }
  }
  const result = await compileFolder("generated", tokenizer("stories"), out, { ...defaults, template: "llama-2", records, sourceSha256: "0".repeat(64) });
  const total = statSync(join(out, "tokens.bin")).size;
  assert.equal(result.manifest.rows_out, 1200);
  assert.ok(onDisk.at(-1)! > 0 && onDisk.at(-1)! < total, `tokens on disk while reading: ${onDisk.join(", ")} of ${total} bytes`);
  assert.ok(onDisk.some((size, i) => i > 0 && size > onDisk[i - 1]!), "the file grows as records come in");
});

/** Start a compile of 10,000-turn conversations, signal it once it is busy; seconds from signal to exit. */
async function signalBusyCompile(signal: "SIGINT" | "SIGTERM"): Promise<{ code: number | null; seconds: number; stderr: string; left: string[] }> {
  const dir = tempDir();
  const records = join(dir, "long.jsonl");
  const messages = Array.from({ length: 10_000 }, (_, i) => ({ role: i % 2 === 0 ? "user" : "assistant", content: `vuoro ${i}: hei maailma 🙂` }));
  writeFileSync(records, Array.from({ length: 8 }, (_, i) => JSON.stringify({ kind: "conversation", id: `long-${i}`, messages, meta: {} })).join("\n") + "\n");
  const child = spawn(process.execPath, [join(root, "bin/kielo.js"), "data", "compile", records, "--tokenizer", join(root, "fixtures/tokenizers/qwen3"), "--policy", "assistant", "--out", join(dir, "c")], {
    env: { ...process.env, KIELO_DB: join(dir, "kielo.db") },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
  // Busy: the compile's temporary folder exists, rows are being rendered.
  while (!readdirSync(dir).some((entry) => entry.startsWith(".c.tmp-")) && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 300));
  const signalled = Date.now();
  child.kill(signal);
  const code = await closed;
  return { code, seconds: (Date.now() - signalled) / 1000, stderr, left: readdirSync(dir).filter((entry) => entry.includes(".tmp-")) };
}

test("a compile busy with 10,000-turn conversations ends within seconds of SIGINT and of SIGTERM", async () => {
  // One after the other: on a loaded machine two compiles side by side slow each other's exit.
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    const result = await signalBusyCompile(signal);
    assert.equal(result.code, code, result.stderr);
    assert.ok(result.seconds < 10, `${result.seconds.toFixed(1)} s from the signal to exit`);
    assert.deepEqual(result.left, []);
  }
});
