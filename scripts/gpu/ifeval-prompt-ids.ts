/**
 * Writes the token ids of the 541 IFEval prompts as `kielo generate` sends them to the engine (the
 * model's chat template with the generation prompt, tokenised without added special tokens), for
 * `engine/gpu_checks/bench_generate.py` on GPU hosts that have no Node.
 *
 *   node scripts/gpu/ifeval-prompt-ids.ts <model dir> <out.json.gz> [--template <spec>]
 *
 * The committed fixture was made from SmolLM2-135M-Instruct (see engine/gpu_checks/fixtures/SOURCES.md).
 */
import { createHash } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { gzipSync } from "node:zlib";
import { loadChatTemplate } from "../../src/chat/chat-template.ts";
import { promptIdsBatch } from "../../src/chat/prompt-ids.ts";
import { loadTokenizer } from "../../src/tokenize/tokenizer-folder.ts";

const [modelDir, out, flag, spec] = process.argv.slice(2);
if (!modelDir || !out || (flag !== undefined && flag !== "--template")) {
  process.stderr.write("usage: node scripts/gpu/ifeval-prompt-ids.ts <model dir> <out.json.gz> [--template <spec>]\n");
  process.exit(2);
}
const source = new URL("../../resources/ifeval/input_data.jsonl", import.meta.url);
const rows = readFileSync(source, "utf8").split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as { key: number; prompt: string });
const tokenizer = loadTokenizer(modelDir);
const template = loadChatTemplate(spec, tokenizer);
const ids = await promptIdsBatch(template, tokenizer, rows.map((row) => [{ role: "user" as const, content: row.prompt }]));
const fixture = {
  source: "resources/ifeval/input_data.jsonl",
  source_sha256: createHash("sha256").update(readFileSync(source)).digest("hex"),
  tokenizer_sha256: tokenizer.sha256,
  // The template as named on the command line, without the local directory of a file: template.
  template: spec?.startsWith("file:") ? `file:${basename(spec.slice("file:".length))}` : (spec ?? "model"),
  prompts: rows.map((row, i) => ({ key: row.key, prompt_ids: ids[i] })),
};
writeFileSync(`${out}.tmp`, gzipSync(JSON.stringify(fixture)));
renameSync(`${out}.tmp`, out);
const lengths = ids.map((x) => x.length);
process.stdout.write(`${rows.length} prompts, ${Math.min(...lengths)}–${Math.max(...lengths)} tokens, ${lengths.reduce((a, b) => a + b, 0)} in all → ${out}\n`);
