/**
 * The `engine` backend: kielo's own PyTorch engine, `python -m kielo_engine generate`
 * (contract: docs/formats.md §4). TypeScript tokenises the prompts with the model's own
 * tokenizer.json and decodes the returned ids; the engine only continues token sequences.
 *
 * Requests are sent in chunks (one engine process per chunk, the model loaded once per chunk),
 * and each chunk's results are reported as soon as it finishes, so a crash loses at most one chunk.
 * Prompts are completion style: the engine does not apply chat templates.
 */
import { resolve } from "node:path";
import { generateTokens } from "../engine/generate.ts";
import { findPython } from "../engine/python.ts";
import { loadTokenizer } from "../tokenize/tokenizer-folder.ts";
import type { DecodingSettings, FinishReason, GenerateOptions, GenerationBackend, GenerationResult } from "./types.ts";

export interface EngineBackendOptions {
  /** A Hugging Face model folder with tokenizer.json. */
  modelDir: string;
  adapterDir?: string;
  decoding: DecodingSettings;
  batchSize: number;
  /** Requests per engine process. */
  chunkSize: number;
  device?: "cpu" | "cuda";
  dtype?: "bf16" | "fp16" | "fp32";
  /** The engine's Python (default: as `kielo doctor` finds it). */
  python?: string;
  /** Told about engine progress (done, total) within a chunk. */
  onProgress?: (done: number, total: number) => void;
}

export async function createEngineBackend(options: EngineBackendOptions): Promise<GenerationBackend> {
  const modelDir = resolve(options.modelDir);
  const tokenizer = loadTokenizer(modelDir, "--model folder").tokenizer;
  const python = findPython(options.python);

  async function runChunk(chunk: { key: string; prompt: string }[], signal?: AbortSignal): Promise<GenerationResult[]> {
    // Completion-style prompts are plain text: tokenised with the tokenizer's own special tokens
    // (BOS …), as a plain tokenizer call does.
    const requests = [];
    for (const [index, request] of chunk.entries()) {
      const encoding = await tokenizer.encode(request.prompt, null, { addSpecialTokens: true });
      requests.push({ key: String(index), promptIds: encoding.getIds() });
    }
    const outputs = await generateTokens(requests, {
      python,
      modelDir,
      adapterDir: options.adapterDir,
      maxNewTokens: options.decoding.maxTokens,
      temperature: options.decoding.temperature,
      topP: options.decoding.topP,
      seed: options.decoding.seed,
      batchSize: options.batchSize,
      device: options.device,
      dtype: options.dtype,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(signal ? { signal } : {}),
    });
    const results: GenerationResult[] = [];
    for (const output of outputs) {
      const index = Number(output.key);
      const request = chunk[index]!;
      const decoded = await tokenizer.decode(output.outputIds, true);
      // The engine stops only at token ids; stop strings (the prompt's closing tag) are cut here.
      const { text, stopped } = cutAtStop(decoded, options.decoding.stop);
      const finishReason: FinishReason = stopped ? "stop" : output.finishReason;
      results.push({
        key: request.key,
        text,
        finishReason,
        promptTokens: requests[index]!.promptIds.length,
        completionTokens: output.outputIds.length,
      });
    }
    return results;
  }

  return {
    name: "engine",
    model: modelDir,
    style: "completion",
    identity: { backend: "engine", adapter: options.adapterDir ? resolve(options.adapterDir) : null },
    async generate(requests, generateOptions: GenerateOptions = {}) {
      const all: GenerationResult[] = [];
      for (let start = 0; start < requests.length; start += options.chunkSize) {
        const chunk = requests.slice(start, start + options.chunkSize).map((request) => {
          if (request.prompt === undefined) throw new Error(`engine request ${request.key} has no completion prompt`);
          return { key: request.key, prompt: request.prompt };
        });
        const results = await runChunk(chunk, generateOptions.signal);
        for (const result of results) {
          all.push(result);
          await generateOptions.onResult?.(result);
        }
      }
      return all;
    },
  };
}

export function cutAtStop(text: string, stops: readonly string[]): { text: string; stopped: boolean } {
  let cut = -1;
  for (const stop of stops) {
    const at = stop === "" ? -1 : text.indexOf(stop);
    if (at >= 0 && (cut < 0 || at < cut)) cut = at;
  }
  return cut < 0 ? { text, stopped: false } : { text: text.slice(0, cut), stopped: true };
}
