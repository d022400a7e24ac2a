import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { decodeRuns, documentView, markedText, statsView } from "../../src/compile/inspect-view.ts";
import { compileAndOpen, conversation, fixtures, tokenizer, writeRecords } from "./helpers.ts";

test("marked runs concatenate to the decoded document, also where a run boundary splits a character's bytes", async () => {
  // The tiny model's 512-token vocabulary spells "ä" as two byte tokens <0xC3><0xA4>.
  const tok = tokenizer("stories").tokenizer;
  const ids = Uint32Array.from((await tok.encode("Hyvää päivää", null, { addSpecialTokens: false })).getIds());
  const tokens = (await tok.encode("Hyvää päivää", null, { addSpecialTokens: false })).getTokens();
  const split = tokens.indexOf("<0xA4>");
  assert.ok(split > 0 && tokens[split - 1] === "<0xC3>");
  const trained = new Uint8Array(ids.length);
  trained.fill(1, split);
  const runs = await decodeRuns(tok, ids, trained);
  assert.equal(runs.map((r) => r.text).join(""), await tok.decode(Array.from(ids), false));
  // The split "ä" goes wholly to the trained run.
  assert.deepEqual(
    runs.map((r) => [r.text, r.trained]),
    [
      ["Hyv", false],
      ["ää päivää", true],
    ],
  );
});

test("brackets and ANSI marking", async () => {
  const data = await compileAndOpen(
    writeRecords([conversation("c", [{ role: "user", content: "Hei!" }, { role: "assistant", content: "Moi." }])]),
    "qwen3",
    { policy: "assistant" },
  );
  const { start, end } = data.documentRange(0);
  const tok = tokenizer("qwen3").tokenizer;
  const ids = data.tokens.subarray(start, end);
  const trained = data.trained.subarray(start, end);
  assert.equal(await markedText(tok, ids, trained, "brackets"), "<|im_start|>user\nHei!<|im_end|>\n<|im_start|>assistant\n[[<think>\n\n</think>\n\nMoi.<|im_end|>\n]]");
  assert.equal(
    await markedText(tok, ids, trained, "ansi"),
    "\x1b[2m<|im_start|>user\nHei!<|im_end|>\n<|im_start|>assistant\n\x1b[0m\x1b[32;4m<think>\n\n</think>\n\nMoi.<|im_end|>\n\x1b[0m",
  );
});

test("packed data: the header names the pack; statistics report pack fill", async () => {
  const data = await compileAndOpen(join(fixtures, "dolly-en-fi.jsonl"), "qwen3", { pack: 1024 });
  const packs = Array.from(data.packs!, Number);
  const last = data.documentCount - 1;
  const view = await documentView(data, tokenizer("qwen3").tokenizer, last, "brackets");
  assert.match(view, new RegExp(`^── document ${last} \\(pack ${packs.length - 2}\\) · id `));
  const first = await documentView(data, tokenizer("qwen3").tokenizer, 0, "brackets");
  assert.match(first, /^── document 0 \(pack 0\) · id /);
  const stats = statsView(data);
  assert.match(stats, new RegExp(`packs: ${packs.length - 1}, filled \\d+\\.\\d%`));
  assert.match(stats, /packed into 1024-token sequences/);
});
