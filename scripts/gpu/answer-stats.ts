/**
 * Shares of a model's answers that are in the target language, loop, or copy the prompt, for
 * scripts/gpu/real-model.sh (any `kielo generate` output works).
 *
 *   node scripts/gpu/answer-stats.ts <answers.jsonl> [--lang fi]
 *
 * Prints one JSON object: counts and shares, mean words, mean seq-rep-4 and prompt copy, and the
 * first three answers (shortened) as examples. Language: kielo's port of Python langdetect (seed 0),
 * as `kielo eval ifeval --lang` uses; loop and copy as defined in src/eval/answer-shape.ts.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { answerShape } from "../../src/eval/answer-shape.ts";
import { getDetector } from "../../src/eval/langid/index.ts";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { lang: { type: "string", default: "fi" } } });
if (positionals.length !== 1) {
  process.stderr.write("usage: node scripts/gpu/answer-stats.ts <answers.jsonl> [--lang fi]\n");
  process.exit(2);
}
const lang = values.lang!;
const rows = readFileSync(positionals[0]!, "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => JSON.parse(line) as { key: string; prompt: string; response: string; finish_reason?: string });
const detector = await getDetector("langdetect");
let inLang = 0;
let loops = 0;
let copies = 0;
let stopped = 0;
let words = 0;
let repetition = 0;
let copy = 0;
for (const row of rows) {
  const shape = answerShape(row.prompt, row.response);
  if (detector.detect(row.response) === lang) inLang++;
  if (shape.loops) loops++;
  if (shape.copiesPrompt) copies++;
  if (row.finish_reason === "stop") stopped++;
  words += shape.words;
  repetition += shape.repetition;
  copy += shape.promptCopy;
}
const n = Math.max(1, rows.length);
process.stdout.write(
  `${JSON.stringify({
    answers: rows.length,
    lang,
    in_lang: inLang,
    in_lang_share: inLang / n,
    loops,
    loop_share: loops / n,
    copies,
    copy_share: copies / n,
    stopped,
    mean_words: words / n,
    mean_repetition: repetition / n,
    mean_prompt_copy: copy / n,
    examples: rows.slice(0, 3).map((r) => ({ key: r.key, response: r.response.slice(0, 160) })),
  })}\n`,
);
