/**
 * Speed of the two language detectors on real texts.
 *
 *   node test/eval/langid/benchmark.ts [file.jsonl ...]
 *
 * Each file is JSONL; the text of a line is its `response` field, else `text`. Default: the
 * fixture corpus of the peer tests. Prints load time and texts/s (after one warm-up pass) for
 * langdetect (the port, seed 0) and eld (medium database), by wall clock and by this process's
 * CPU time (the second stays meaningful on a machine shared with other work).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { getDetector, type DetectorName } from "../../../src/eval/langid/index.ts";

const files = process.argv.slice(2);
if (files.length === 0) files.push(fileURLToPath(new URL("../../fixtures/langid/texts.jsonl", import.meta.url)));

const texts = files.flatMap((file) =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const row = JSON.parse(line) as Record<string, unknown>;
      return String(row["response"] ?? row["text"] ?? "");
    }),
);
const chars = texts.reduce((sum, text) => sum + text.length, 0);
console.log(`${texts.length} texts, ${Math.round(chars / texts.length)} characters on average`);

/** Wall-clock and CPU milliseconds of `work`. */
async function timed(work: () => unknown): Promise<{ wall: number; cpu: number }> {
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  await work();
  const cpu = process.cpuUsage(cpuStart);
  return { wall: performance.now() - wallStart, cpu: (cpu.user + cpu.system) / 1000 };
}

const rate = (ms: number): string => ((texts.length / ms) * 1000).toFixed(0).padStart(5);

for (const name of ["langdetect", "eld"] as DetectorName[]) {
  let detector: Awaited<ReturnType<typeof getDetector>> | undefined;
  const load = await timed(async () => {
    detector = await getDetector(name);
  });
  const run = (): void => {
    for (const text of texts) detector?.detect(text);
  };
  const first = await timed(run);
  const warm = await timed(run);
  console.log(
    `${name.padEnd(10)} load ${load.wall.toFixed(0).padStart(5)} ms (cpu ${load.cpu.toFixed(0).padStart(5)} ms)   ` +
      `first pass ${rate(first.wall)} texts/s (cpu ${rate(first.cpu)})   warm ${rate(warm.wall)} texts/s (cpu ${rate(warm.cpu)})`,
  );
}
