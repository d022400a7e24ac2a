/**
 * `npm run bench:ifeval`: the time to score 541 responses strict + loose, after start-up.
 *
 * Start-up (reading the prompts, building the checkers, loading the langdetect profiles and the
 * Punkt parameters) is timed separately; then each M-IFEval response set (GPT-4o and
 * Qwen2.5-0.5B answers to the 541 prompts, real model output) is scored several times and the
 * median and fastest runs are printed.
 */
import { readPrompts } from "../src/eval/ifeval/prompts.ts";
import { joinResponses } from "../src/eval/ifeval/responses.ts";
import { judge } from "../src/eval/ifeval/score.ts";
import { detect } from "../src/eval/langid/langdetect.ts";
import { sentTokenize } from "../src/eval/nltk/punkt.ts";
import { M_IFEVAL_PROMPTS, RESPONSE_SETS, readResponseSet, type ResponseSetName } from "../test/eval/ifeval/helpers.ts";

const REPEATS = 5;

const startup = performance.now();
const prompts = await readPrompts(M_IFEVAL_PROMPTS);
detect("warm up the language profiles");
sentTokenize("Warm up. The Punkt parameters.");
console.log(`start-up (prompts, checkers, langdetect profiles, Punkt): ${(performance.now() - startup).toFixed(0)} ms`);

for (const name of Object.keys(RESPONSE_SETS) as ResponseSetName[]) {
  const responses = readResponseSet(name).map((r, i) => ({ ...r, line: i + 1 }));
  const { joined } = joinResponses(prompts, responses, name);
  const times: number[] = [];
  const cpuTimes: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t = performance.now();
    const cpu = process.cpuUsage();
    for (const { prompt, response } of joined) judge(prompt.checks, response);
    const used = process.cpuUsage(cpu);
    times.push(performance.now() - t);
    cpuTimes.push((used.user + used.system) / 1000);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  // CPU time is printed too: on a shared machine wall time also counts other processes' turns.
  console.log(
    `${name}: ${joined.length} responses, strict + loose: median ${median(times).toFixed(0)} ms wall ` +
      `(${median(cpuTimes).toFixed(0)} ms CPU), fastest ${Math.min(...times).toFixed(0)} ms, ${REPEATS} runs`,
  );
}
