/**
 * `translate-ifeval` on the real 541 IFEval prompts, through a loopback server whose "model"
 * mirrors every word (story → yrots) and leaves everything else alone. That makes the expected
 * output computable by hand for any prompt, so the test checks that kwargs and prompt stay
 * consistent, markers survive, ids are kept and the language constraint is added.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createOpenAIBackend } from "../../src/generate/openai.ts";
import { parsePromptLine } from "../../src/eval/ifeval/prompts.ts";
import { openStore } from "../../src/store/db.ts";
import { defaultIfevalInput } from "../../src/cli/commands/translate-ifeval.ts";
import { matchCase, readIfevalRows, selectPrompts, translateIfeval } from "../../src/translate/ifeval.ts";
import { loadPrompt } from "../../src/translate/prompt.ts";
import { openCache } from "../../src/translate/translate.ts";

/** The mirror "translation": every run of letters reversed; markers, digits, punctuation kept. */
const mirror = (text: string) => text.replace(/\p{L}+/gu, (word) => [...word].reverse().join(""));

test("matchCase keeps the source's case pattern", () => {
  assert.equal(matchCase("SECTION", "jakso"), "JAKSO");
  assert.equal(matchCase("Section", "jakso"), "Jakso");
  assert.equal(matchCase("story", "Tarina"), "tarina");
});

test("the language prompts of the reference set are left out by default: 541 → 510", async () => {
  const rows = await readIfevalRows(defaultIfevalInput());
  const { kept, dropped } = selectPrompts(rows, false);
  assert.equal(kept.length, 510);
  assert.equal(dropped.length, 31);
  assert.equal(selectPrompts(rows, true).kept.length, 541);
});

test("the 541 IFEval prompts: kwargs translated consistently with the prompt, ids kept, fi constraint added", async () => {
  let requests = 0;
  const server = createServer((request, response) => {
    let raw = "";
    request.on("data", (chunk: Buffer) => (raw += chunk));
    request.on("end", () => {
      requests += 1;
      const body = JSON.parse(raw) as { messages: { role: string; content: string }[] };
      const source = body.messages.at(-1)!.content;
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ choices: [{ message: { role: "assistant", content: mirror(source) }, finish_reason: "stop" }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    const decoding = { maxTokens: 512, temperature: 0, topP: 1, seed: 0, stop: [] };
    const backend = createOpenAIBackend({ baseUrl: url, model: "mirror", endpoint: "chat", decoding, concurrency: 8, timeoutMs: 10_000 });
    const prompt = loadPrompt("en", "fi");
    const db = openStore(join(mkdtempSync(join(tmpdir(), "kielo-ifeval-")), "kielo.db"));
    const { cache } = openCache(db, backend, prompt, decoding);
    const rows = await readIfevalRows(defaultIfevalInput());
    assert.equal(rows.length, 541);
    const work = { backend, prompt, cache, label: "ifeval", quiet: true };
    const result = await translateIfeval(rows, work, { to: "fi", maxChars: 2000, addLanguageConstraint: true, generate: true });
    assert.equal(result.rows.length, 541);
    assert.deepEqual(result.problems, []);
    const byKey = new Map(rows.map((row) => [row.key, row]));
    let constraints = 0;
    let checked = 0;
    for (const row of result.rows) {
      const source = byKey.get(row.key)!;
      // Ids kept, in order; the constraint appended where the prompt asks for no language itself.
      const asksLanguage = source.instruction_id_list.some((id) => id === "language:response_language" || id.startsWith("change_case:english_"));
      assert.deepEqual(row.instruction_id_list, asksLanguage ? source.instruction_id_list : [...source.instruction_id_list, "language:response_language"]);
      if (!asksLanguage) {
        constraints += 1;
        assert.deepEqual(row.kwargs.at(-1), { language: "fi" });
      }
      source.kwargs.forEach((kwargs, i) => {
        const out = row.kwargs[i]!;
        for (const [name, value] of Object.entries(kwargs)) {
          if (["keywords", "forbidden_words"].includes(name)) assert.deepEqual(out[name], (value as string[]).map((word) => matchCase(word, mirror(word))));
          else if (["keyword", "first_word", "section_spliter"].includes(name)) assert.equal(out[name], matchCase(value as string, mirror(value as string)));
          else if (name === "end_phrase" || name === "prompt_to_repeat") {
            assert.equal(typeof out[name], "string");
            assert.notEqual(out[name], value);
          } else assert.deepEqual(out[name], value, `${row.key} ${name}`); // numbers, relations, letters, P.S. markers, languages
        }
      });
      // A kwarg the English prompt mentions is mentioned, translated, by the translated prompt.
      source.kwargs.forEach((kwargs, i) => {
        for (const name of ["keywords", "forbidden_words", "keyword", "end_phrase", "first_word", "section_spliter", "prompt_to_repeat", "postscript_marker"]) {
          const list = (value: unknown): string[] => (value === undefined ? [] : Array.isArray(value) ? (value as string[]) : [value as string]);
          const sources = list(kwargs[name]);
          const targets = list(row.kwargs[i]![name]);
          sources.forEach((value, j) => {
            if (!source.prompt.toLowerCase().includes(value.toLowerCase())) return;
            checked += 1;
            assert.ok(row.prompt.toLowerCase().includes(targets[j]!.toLowerCase()), `${row.key}: ${name} ${JSON.stringify(targets[j])} not in the prompt`);
          });
        }
      });
    }
    // The file is what `kielo eval ifeval --lang fi` reads: every row builds its checks.
    result.rows.forEach((row, i) => parsePromptLine(JSON.parse(JSON.stringify(row)), "ifeval-fi.jsonl", i + 1));
    assert.ok(checked > 250, `${checked} kwarg mentions checked`);
    assert.equal(constraints, 541 - rows.filter((row) => row.instruction_id_list.some((id) => id === "language:response_language" || id.startsWith("change_case:english_"))).length);
    // The prompt to repeat is translated once and quoted exactly in its prompt.
    const repeat = result.rows.find((row) => row.instruction_id_list.includes("combination:repeat_prompt"))!;
    const repeatKwargs = repeat.kwargs.find((kwargs) => typeof kwargs["prompt_to_repeat"] === "string")!;
    assert.ok(repeat.prompt.includes(repeatKwargs["prompt_to_repeat"] as string));
    // Second run: all from the cache.
    const before = requests;
    const again = await translateIfeval(rows, work, { to: "fi", maxChars: 2000, addLanguageConstraint: true, generate: true });
    assert.equal(requests, before);
    assert.equal(again.generated, 0);
    assert.equal(JSON.stringify(again.rows), JSON.stringify(result.rows));
    db.close();
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
