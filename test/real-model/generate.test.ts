/**
 * `kielo generate` on the real SmolLM2-135M-Instruct: greedy answers (16 new tokens, batched with
 * left padding) equal Python transformers' `generate` on each prompt alone, and an answer ends at
 * the model's end of turn `<|im_end|>` (the EOS `kielo model import` took from the GGUF header;
 * transformers' own GGUF conversion would have made it `<|im_start|>`).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { test } from "node:test";
import { PYTHON, realModelDir, ROOT } from "./model.ts";

const MAX_NEW_TOKENS = 16;

interface Reference {
  prompt_ids: number[];
  output_ids: number[];
  stopped: boolean;
  text: string;
}

function jsonl<T>(text: string): T[] {
  return text.trim().split("\n").map((line) => JSON.parse(line) as T);
}

test("kielo generate: greedy answers equal transformers generate, and stop at <|im_end|>", async (t) => {
  const model = realModelDir();
  const work = mkdtempSync(join(tmpdir(), "kielo-real-generate-"));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  type Msg = { role: string; content: string };
  const heldout = jsonl<{ messages: Msg[] }>(gunzipSync(readFileSync(join(ROOT, "examples/real-model/sft-fi.heldout.jsonl.gz"))).toString("utf8"));
  const thread = jsonl<{ messages: Msg[] }>(readFileSync(join(ROOT, "test/fixtures/chat/oasst-fi-threads.jsonl"), "utf8"))[0]!.messages;
  const prompts = [
    { key: "france", messages: [{ role: "user", content: "What is the capital of France?" }] },
    { key: "dolly-fi", messages: heldout[0]!.messages.slice(0, 1) },
    { key: "system-fi", messages: [{ role: "system", content: "Vastaa suomeksi." }, { role: "user", content: "Mikä on Suomen pääkaupunki?" }] },
    { key: "multi-turn-fi", messages: thread.slice(0, thread.map((m) => m.role).lastIndexOf("user") + 1) },
  ];
  assert.ok(prompts[3]!.messages.length >= 3, "the multi-turn prompt has earlier turns");
  const promptsFile = join(work, "prompts.jsonl");
  writeFileSync(promptsFile, prompts.map((p) => `${JSON.stringify(p)}\n`).join(""));

  const reference = spawnSync(PYTHON, [join(ROOT, "test/real-model/generate_reference.py"), model, promptsFile, String(MAX_NEW_TOKENS)], {
    encoding: "utf8",
    env: { ...process.env, OMP_NUM_THREADS: "1" },
  });
  assert.equal(reference.status, 0, reference.stderr);
  const expected = JSON.parse(reference.stdout) as Reference[];

  const answersFile = join(work, "answers.jsonl");
  const run = spawnSync(
    process.execPath,
    [join(ROOT, "bin/kielo.js"), "generate", "--model", model, "--prompts", promptsFile, "--out", answersFile, "--max-new-tokens", String(MAX_NEW_TOKENS), "--device", "cpu", "--dtype", "fp32", "--quiet"],
    { encoding: "utf8", env: { ...process.env, KIELO_DB: join(work, "kielo.db"), OMP_NUM_THREADS: "1" } },
  );
  assert.equal(run.status, 0, run.stderr);
  const answers = jsonl<{ key: string; response: string; finish_reason: string }>(readFileSync(answersFile, "utf8"));

  assert.deepEqual(answers.map((a) => a.key), prompts.map((p) => p.key));
  answers.forEach((answer, i) => {
    const want = expected[i]!;
    assert.equal(answer.response, want.text, `${answer.key}: the same greedy text as transformers`);
    assert.equal(answer.finish_reason, want.stopped ? "stop" : "length", `${answer.key}: finish reason`);
  });
  // The real model answers this one in full and then ends its turn.
  assert.equal(answers[0]!.response, "The capital of France is Paris.");
  assert.equal(answers[0]!.finish_reason, "stop");
  assert.ok(expected[0]!.output_ids.length < MAX_NEW_TOKENS);
  assert.ok(answers.some((a) => a.finish_reason === "length"), "the longer answers run to the token limit, so 16 tokens are compared");
});
