/**
 * Scoring token sequences on the local engine (`python -m kielo_engine score`): a sequence
 * classifier's label probabilities, or a mean-pooled, L2-normalised embedding. TypeScript
 * tokenises; the engine runs the model in batches.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { makeTempDir } from "../util/atomic.ts";
import { KieloError } from "../util/errors.ts";
import { hintFor } from "./events.ts";
import type { PythonChoice } from "./python.ts";
import { runEngine } from "./run.ts";

export interface EngineScoreOptions {
  python: PythonChoice;
  modelDir: string;
  batchSize: number;
  padId: number;
  device?: string | undefined;
  dtype?: "bf16" | "fp16" | "fp32" | undefined;
  onProgress?: (done: number, total: number) => void;
}

export type EngineScoreResult = { probs: Record<string, number> } | { embedding: number[] };

export async function engineScore(
  task: "classify" | "embed",
  sequences: readonly (readonly number[])[],
  options: EngineScoreOptions,
): Promise<EngineScoreResult[]> {
  if (sequences.length === 0) return [];
  const { dir, remove } = await makeTempDir("score");
  try {
    const input = join(dir, "requests.jsonl");
    const output = join(dir, "results.jsonl");
    await writeFile(input, sequences.map((ids, i) => `${JSON.stringify({ key: String(i), ids })}\n`).join(""));
    const args = ["score", "--task", task, "--model", resolve(options.modelDir), "--input", input, "--output", output];
    args.push("--batch-size", String(options.batchSize), "--pad-id", String(options.padId));
    if (options.device) args.push("--device", options.device);
    if (options.dtype) args.push("--dtype", options.dtype);
    const result = await runEngine({
      python: options.python,
      args,
      passStderr: false,
      onEvent: (event) => {
        if (event.type === "progress" && event.done !== undefined && event.total !== undefined) options.onProgress?.(event.done, event.total);
      },
    });
    if (result.error) {
      const hint = hintFor(result.error);
      throw new KieloError(`scoring with ${options.modelDir} failed: ${result.error.message}`, hint ? { hint } : {});
    }
    if (result.exitCode !== 0) {
      throw new KieloError(`scoring with ${options.modelDir} failed (exit ${result.signal ?? result.exitCode}):\n${result.stderrTail.slice(-8).join("\n")}`);
    }
    const rows = (await readFile(output, "utf8"))
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as { key: string } & EngineScoreResult);
    const out = new Array<EngineScoreResult>(sequences.length);
    for (const row of rows) out[Number(row.key)] = row;
    if (rows.length !== sequences.length || out.some((r) => r === undefined)) {
      throw new KieloError(`the engine returned ${rows.length} scores for ${sequences.length} texts`);
    }
    return out;
  } finally {
    await remove();
  }
}
