/**
 * The `engine` backend: kielo's own PyTorch engine, `python -m kielo_engine generate`
 * (contract: docs/formats.md §4). TypeScript tokenises the prompts with the model's own
 * tokenizer.json and decodes the returned ids; the engine only continues token sequences.
 *
 * Requests are sent in chunks (one engine process per chunk, the model loaded once per chunk),
 * and each chunk's results are reported as soon as it finishes, so a crash loses at most one chunk.
 * Prompts are completion style: the engine does not apply chat templates.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "tokenizers";
import { KieloError } from "../util/errors.ts";
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
  /** Told about engine progress lines. */
  onLog?: (line: string) => void;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export function enginePython(): string {
  return process.env["KIELO_PYTHON"] ?? join(REPO_ROOT, ".venv", "bin", "python");
}

export async function createEngineBackend(options: EngineBackendOptions): Promise<GenerationBackend> {
  const modelDir = resolve(options.modelDir);
  const tokenizerPath = join(modelDir, "tokenizer.json");
  if (!existsSync(tokenizerPath)) {
    throw new KieloError(`${tokenizerPath} not found: --model must be a Hugging Face model folder with a tokenizer.json`);
  }
  const tokenizer = await Tokenizer.fromFile(tokenizerPath);
  const python = enginePython();

  async function runChunk(chunk: { key: string; prompt: string }[], signal?: AbortSignal): Promise<GenerationResult[]> {
    const dir = await mkdtemp(join(tmpdir(), "kielo-generate-"));
    try {
      const promptIds: number[][] = [];
      let lines = "";
      for (const [index, request] of chunk.entries()) {
        const encoding = await tokenizer.encode(request.prompt, null, { addSpecialTokens: true });
        const ids = encoding.getIds();
        promptIds.push(ids);
        lines += `${JSON.stringify({ key: String(index), prompt_ids: ids })}\n`;
      }
      const input = join(dir, "requests.jsonl");
      const output = join(dir, "results.jsonl");
      await writeFile(input, lines);
      const args = [
        "-m", "kielo_engine", "generate",
        "--model", modelDir,
        "--input", input,
        "--output", output,
        "--max-new-tokens", String(options.decoding.maxTokens),
        "--temperature", String(options.decoding.temperature),
        "--top-p", String(options.decoding.topP),
        "--seed", String(options.decoding.seed),
        "--batch-size", String(options.batchSize),
      ];
      if (options.adapterDir) args.push("--adapter", resolve(options.adapterDir));
      if (options.device) args.push("--device", options.device);
      if (options.dtype) args.push("--dtype", options.dtype);
      await runEngine(python, args, signal, options.onLog);
      const parsed = (await readFile(output, "utf8"))
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as { key: string; output_ids: number[]; finish_reason: string });
      if (parsed.length !== chunk.length) {
        throw new KieloError(`the engine returned ${parsed.length} results for ${chunk.length} requests (${output})`);
      }
      const results: GenerationResult[] = [];
      for (const row of parsed) {
        const index = Number(row.key);
        const request = chunk[index];
        if (request === undefined) throw new KieloError(`the engine returned an unknown key ${row.key}`);
        const decoded = await tokenizer.decode(row.output_ids, true);
        // The engine stops only at token ids; stop strings (the prompt's closing tag) are cut here.
        const { text, stopped } = cutAtStop(decoded, options.decoding.stop);
        const finishReason: FinishReason = stopped ? "stop" : row.finish_reason === "length" ? "length" : "stop";
        results.push({
          key: request.key,
          text,
          finishReason,
          promptTokens: promptIds[index]!.length,
          completionTokens: row.output_ids.length,
        });
      }
      return results;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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

function runEngine(python: string, args: string[], signal: AbortSignal | undefined, onLog?: (line: string) => void): Promise<void> {
  if (!existsSync(python)) {
    return Promise.reject(new KieloError(`no Python at ${python}`, { hint: "run `npm run setup`, or set KIELO_PYTHON" }));
  }
  return new Promise((resolvePromise, reject) => {
    const child = spawn(python, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, PYTHONPATH: [join(REPO_ROOT, "engine"), process.env["PYTHONPATH"]].filter(Boolean).join(":") },
      stdio: ["ignore", "pipe", "pipe"],
      signal,
    });
    let stderr = "";
    let lastError = "";
    let buffered = "";
    child.stdout.setEncoding("utf8").on("data", (data: string) => {
      buffered += data;
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        try {
          const event = JSON.parse(line) as { type?: string; message?: string };
          if (event.type === "error" && event.message) lastError = event.message;
        } catch {
          // not an event line
        }
        onLog?.(line);
      }
    });
    child.stderr.setEncoding("utf8").on("data", (data: string) => {
      stderr = (stderr + data).slice(-4000);
    });
    child.on("error", (error) => reject(error));
    child.on("close", (code) => {
      if (code === 0) resolvePromise();
      else
        reject(
          new KieloError(
            `the engine's generate failed (exit code ${code}): ${lastError || stderr.trim().split("\n").slice(-5).join("\n") || "no message"}`,
          ),
        );
    });
  });
}
