/**
 * Very long documents are tokenised in overlapping windows (memory bounded by a window, not the
 * document): the stitched ids and token starts equal one encoding of the whole text, for every
 * tokenizer in fixtures/.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { encodeInWindows, encodeTexts } from "../../src/tokenize/encode-texts.ts";
import { loadTokenizer } from "../../src/tokenize/tokenizer-folder.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dirs = {
  qwen3: "fixtures/tokenizers/qwen3",
  llama3: "fixtures/tokenizers/llama3",
  mistral: "fixtures/tokenizers/mistral-7b",
  stories260K: "fixtures/models/stories260K/hf",
};

// Real text: English and Finnish Dolly replies (emoji and code added), about 80k characters.
const rows = readFileSync(join(root, "test/fixtures/chat/dolly-en-fi.jsonl"), "utf8").trim().split("\n");
const replies = rows.map((line) => (JSON.parse(line) as { messages: { content: string }[] }).messages.at(-1)!.content);
let text = "";
for (let i = 0; text.length < 80_000; i++) text += `${replies[i % replies.length]}${i % 7 === 0 ? " 🙂🇫🇮 `x = 1`\n\n" : "\n"}`;
const small = { longText: 10_000, piece: 15_000, context: 4096, overlap: 1024 };

test("windowed encoding equals encoding the whole text, on every tokenizer", async () => {
  for (const [name, dir] of Object.entries(dirs)) {
    const tokenizer = loadTokenizer(join(root, dir)).tokenizer;
    const whole = await tokenizer.encode(text, null, { addSpecialTokens: false });
    const windows = await encodeInWindows(tokenizer, text, small);
    assert.ok(windows !== undefined, `${name}: every cut verified`);
    assert.deepEqual(Array.from(windows.ids.subarray(0, windows.length)), whole.getIds(), `${name}: ids`);
    assert.deepEqual(
      Array.from(windows.starts.subarray(0, windows.length)),
      whole.getOffsets().map((o) => o[0]),
      `${name}: token starts`,
    );
    const [viaBatch] = await encodeTexts(tokenizer, [text], [true], small);
    assert.deepEqual(Array.from(viaBatch!.ids), whole.getIds());
  }
});
