/**
 * The `engine` backend end to end on the CPU with the tiny real model (stories260K): TypeScript
 * tokenises the few-shot prompt, the engine generates, TypeScript decodes. The model only knows
 * English children's stories, so its "translation" is not Finnish, and `clean` must say so.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { toJsonl } from "../../src/data/jsonl.ts";
import type { KieloRecord } from "../../src/data/records.ts";
import { cutAtStop } from "../../src/generate/engine.ts";
import { loadFixtureSet } from "../translate/helpers/fixture-records.ts";

const KIELO = fileURLToPath(new URL("../../bin/kielo.js", import.meta.url));
const MODEL = fileURLToPath(new URL("../../fixtures/models/stories260K/hf", import.meta.url));

function kielo(args: string[]) {
  return spawnSync(process.execPath, [KIELO, ...args], { encoding: "utf8" });
}

test("cutAtStop cuts at the earliest stop string", () => {
  assert.deepEqual(cutAtStop("Hei maailma\n</fi>\n<en>", ["<en>", "</fi>"]), { text: "Hei maailma\n", stopped: true });
  assert.deepEqual(cutAtStop("Hei", ["</fi>"]), { text: "Hei", stopped: false });
});

test("translate --backend engine with the tiny model, then clean says the output is not Finnish", () => {
  const dir = mkdtempSync(join(tmpdir(), "kielo-engine-"));
  const input = join(dir, "en.jsonl");
  const records = loadFixtureSet().english.filter((record) => record.id.startsWith("dolly-")).slice(0, 2);
  writeFileSync(input, toJsonl(records));
  const out = join(dir, "fi.jsonl");
  // A short prompt file (one example) keeps the CPU run quick; the built-in one works the same way.
  const promptFile = join(dir, "en-fi-short.yaml");
  writeFileSync(
    promptFile,
    [
      "source_name: English",
      "target_name: Finnish",
      "instruction: Translate the English text into Finnish.",
      "completion:",
      "  template: \"{{ instruction }}\\n\\n{% for e in examples %}<en>\\n{{ e.source }}\\n</en>\\n<fi>\\n{{ e.target }}\\n</fi>\\n\\n{% endfor %}<en>\\n{{ source }}\\n</en>\\n<fi>\"",
      "  stop: [\"</fi>\"]",
      "chat: {}",
      "examples:",
      "  - source: Why can camels survive for long without water?",
      "    target: Miksi kamelit voivat selviytyä pitkään ilman vettä?",
      "",
    ].join("\n"),
  );
  const args = ["translate", input, "--to", "fi", "--out", out, "--backend", "engine", "--model", MODEL, "--max-tokens", "48", "--device", "cpu", "--db", join(dir, "kielo.db"), "--prompt-file", promptFile];
  const first = kielo(args);
  assert.equal(first.status, 0, first.stderr);
  const rows = readFileSync(out, "utf8").trim().split("\n").map((line) => JSON.parse(line) as KieloRecord);
  assert.equal(rows.length, 2);
  for (const [i, row] of rows.entries()) {
    assert.equal(row.id, records[i]!.id);
    assert.equal(row.kind, "conversation");
    if (row.kind !== "conversation") continue;
    assert.deepEqual(row.messages.map((message) => message.role), ["user", "assistant"]);
    assert.ok(row.messages.every((message) => message.content.trim() !== ""));
  }
  assert.match(first.stderr, /0 from cache, \d+ generated/);
  // Cached: a re-run does not start the engine, and writes the same file.
  const written = readFileSync(out, "utf8");
  const second = kielo(args);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stderr, /\(\d+ from cache, 0 generated\)/);
  assert.equal(readFileSync(out, "utf8"), written);

  const report = join(dir, "report.json");
  const cleaned = kielo(["clean", out, "--out", join(dir, "clean.jsonl"), "--report", report]);
  assert.equal(cleaned.status, 0, cleaned.stderr);
  const summary = JSON.parse(readFileSync(report, "utf8")) as { rows_kept: number; rules: Record<string, { rows: number }> };
  assert.equal(summary.rows_kept, 0);
  assert.ok(summary.rules["wrong-language"]!.rows + summary.rules["untranslated"]!.rows >= 1, JSON.stringify(summary.rules));
  const shown = kielo(["clean", out, "--show", records[0]!.id]);
  assert.match(shown.stdout, /✗ (wrong-language|untranslated) \(messages\[\d\]\.content\): (detected en, expected fi|.*still in en)/);
});
