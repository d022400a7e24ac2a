/**
 * Speed of the two language detectors on real texts.
 *
 *   node test/eval/langid/benchmark.ts [file.jsonl ...]
 *
 * Each file is JSONL; the text of a line is its `response` field, else `text`. Default: the
 * fixture corpus of the peer tests. Prints load time and texts/s (after one warm-up pass) for
 * langdetect (the port, seed 0) and eld (medium database).
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

for (const name of ["langdetect", "eld"] as DetectorName[]) {
  const loadStart = performance.now();
  const detector = await getDetector(name);
  const loadMs = performance.now() - loadStart;
  const firstStart = performance.now();
  for (const text of texts) detector.detect(text);
  const firstMs = performance.now() - firstStart;
  const start = performance.now();
  for (const text of texts) detector.detect(text);
  const ms = performance.now() - start;
  console.log(
    `${name.padEnd(10)} load ${loadMs.toFixed(0).padStart(5)} ms   first pass ${((texts.length / firstMs) * 1000).toFixed(0).padStart(5)} texts/s   warm ${((texts.length / ms) * 1000).toFixed(0).padStart(5)} texts/s`,
  );
}
