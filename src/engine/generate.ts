/**
 * Token-level generation on the local engine (docs/formats.md §4): TypeScript hands over prompt token
 * ids and gets output token ids back. Templating and (de)tokenising stay on this side.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { makeTempDir } from "../util/atomic.ts";
import { interrupted, KieloError } from "../util/errors.ts";
import { hintFor } from "./events.ts";
import type { PythonChoice } from "./python.ts";
import { runEngine } from "./run.ts";

export interface TokenRequest {
  key: string;
  promptIds: readonly number[];
}

export interface TokenResult {
  key: string;
  outputIds: number[];
  /** `stop`: a stop token ended it (not included); `length`: max new tokens reached. */
  finishReason: "stop" | "length";
}

export const GENERATE_BACKENDS = ["auto", "fast", "transformers"] as const;
export type GenerateBackend = (typeof GENERATE_BACKENDS)[number];

export interface GenerateSummary {
  backend: string;
  backendReason?: string;
  tokensPerSecond?: number;
  seconds?: number;
}

export interface EngineGenerateOptions {
  python: PythonChoice;
  modelDir: string;
  adapterDir?: string | undefined;
  maxNewTokens: number;
  /** 0 = greedy. */
  temperature: number;
  topP: number;
  seed: number;
  /** Rows decoded together at most; default: 16 on the transformers backend, as many as memory holds on the fast one. */
  batchSize?: number | undefined;
  /** `fast` (kielo's decoder, Llama family), `transformers` (transformers' generate), `auto` (fast when it can): default auto. */
  backend?: GenerateBackend | undefined;
  /** Default: the model's eos_token_id(s) from its generation config. */
  stopTokenIds?: readonly number[] | undefined;
  dtype?: "bf16" | "fp16" | "fp32" | undefined;
  device?: string | undefined;
  /** Told which backend ran (and why not `fast`, when `auto` fell back) and the engine's speed, at the end. */
  onDone?: (summary: GenerateSummary) => void;
  /** Told (done, total) as the engine reports progress. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export async function generateTokens(requests: readonly TokenRequest[], options: EngineGenerateOptions): Promise<TokenResult[]> {
  if (requests.length === 0) return [];
  const { dir, remove } = await makeTempDir("generate");
  try {
    const input = join(dir, "requests.jsonl");
    const output = join(dir, "results.jsonl");
    // Keys are positions, so that any caller key (even a repeated one) maps back unambiguously.
    await writeFile(input, requests.map((r, i) => `${JSON.stringify({ key: String(i), prompt_ids: r.promptIds })}\n`).join(""));
    const args = [
      "generate",
      "--model", resolve(options.modelDir),
      "--input", input,
      "--output", output,
      "--max-new-tokens", String(options.maxNewTokens),
      "--temperature", String(options.temperature),
      "--top-p", String(options.topP),
      "--seed", String(options.seed),
    ];
    if (options.batchSize !== undefined) args.push("--batch-size", String(options.batchSize));
    if (options.backend) args.push("--backend", options.backend);
    if (options.adapterDir) args.push("--adapter", resolve(options.adapterDir));
    if (options.stopTokenIds && options.stopTokenIds.length > 0) args.push("--stop-token-ids", options.stopTokenIds.join(","));
    if (options.dtype) args.push("--dtype", options.dtype);
    if (options.device) args.push("--device", options.device);
    const result = await runEngine({
      python: options.python,
      args,
      passStderr: false,
      ...(options.signal ? { signal: options.signal } : {}),
      onEvent: (event) => {
        if (event.type === "progress" && event.done !== undefined && event.total !== undefined) options.onProgress?.(event.done, event.total);
      },
    });
    if (result.stoppedBy !== undefined) throw interrupted(result.stoppedBy, "generation", "Run the same command again.");
    if (result.error) {
      const hint = hintFor(result.error);
      throw new KieloError(`generation failed: ${result.error.message}`, hint ? { hint } : {});
    }
    if (result.done && options.onDone) {
      const { backend, backend_reason: reason, tokens_per_s: speed, seconds } = result.done;
      options.onDone({
        backend: backend ?? "unknown",
        ...(reason !== undefined ? { backendReason: reason } : {}),
        ...(typeof speed === "number" ? { tokensPerSecond: speed } : {}),
        ...(typeof seconds === "number" ? { seconds } : {}),
      });
    }
    if (result.exitCode !== 0) {
      throw new KieloError(`generation failed (exit ${result.signal ?? result.exitCode}):\n${result.stderrTail.slice(-8).join("\n")}`);
    }
    const rows = (await readFile(output, "utf8"))
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as { key: string; output_ids: number[]; finish_reason: string });
    if (rows.length !== requests.length) {
      throw new KieloError(`the engine returned ${rows.length} results for ${requests.length} requests`);
    }
    return rows.map((row) => {
      const request = requests[Number(row.key)];
      if (!request) throw new KieloError(`the engine returned an unknown request key ${row.key}`);
      return { key: request.key, outputIds: row.output_ids, finishReason: row.finish_reason === "length" ? "length" : "stop" };
    });
  } finally {
    await remove();
  }
}
