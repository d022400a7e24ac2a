/**
 * Shares of a model's answers that are in the target language, loop, or copy the prompt, for
 * scripts/gpu/real-model.sh (any `kielo generate` output works).
 *
 *   node scripts/gpu/answer-stats.ts <answers.jsonl> [--lang fi]
 *
 * Per answer, the metrics of `kielo eval text` (src/eval/text/answer-metrics.ts): the language by
 * kielo's langdetect port (seed 0, as `kielo eval ifeval --lang`), `repetition` (the share of word
 * 4-grams repeating an earlier one, Welleck et al.'s rep-4) and `prompt_copy` (the share of word
 * 3-grams found in the prompt). An answer LOOPS when at least half its 4-grams repeat, and COPIES the
 * prompt when at least half its 3-grams come from it (an extractive answer quoting a passage given
 * in the prompt counts too: compare models on the same prompts). Prints one JSON object: counts and
 * shares, means, and the first three answers (shortened) as examples.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { getDetector } from "../../src/eval/langid/index.ts";
import { answerMetrics } from "../../src/eval/text/answer-metrics.ts";

export const LOOP_THRESHOLD = 0.5;
export const COPY_THRESHOLD = 0.5;

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
const metrics = rows.map((row) => answerMetrics(row.prompt, row.response, { detector, targetLang: lang }));
const count = (keep: (m: (typeof metrics)[number]) => boolean) => metrics.filter(keep).length;
const mean = (value: (m: (typeof metrics)[number]) => number) => metrics.reduce((sum, m) => sum + value(m), 0) / Math.max(1, metrics.length);
const n = Math.max(1, rows.length);
const inLang = count((m) => m.in_target_lang === 1);
const loops = count((m) => m.repetition >= LOOP_THRESHOLD);
const copies = count((m) => m.prompt_copy >= COPY_THRESHOLD);
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
    stopped: rows.filter((r) => r.finish_reason === "stop").length,
    mean_words: mean((m) => m.length_words),
    mean_repetition: mean((m) => m.repetition),
    mean_prompt_copy: mean((m) => m.prompt_copy),
    examples: rows.slice(0, 3).map((r) => ({ key: r.key, response: r.response.slice(0, 160) })),
  })}\n`,
);
