/**
 * Command-line options shared by every command that generates text through a backend
 * (`kielo translate`, `kielo translate-ifeval`), and building the backend from them.
 */
import { Option, type Command } from "commander";
import { createEngineBackend } from "../generate/engine.ts";
import { createOpenAIBackend } from "../generate/openai.ts";
import type { DecodingSettings, GenerationBackend } from "../generate/types.ts";
import { KieloError } from "../util/errors.ts";
import { number } from "./options.ts";

export interface BackendCliOptions {
  backend: "openai" | "engine";
  model: string;
  baseUrl: string;
  apiKeyEnv?: string;
  endpoint: "chat" | "completions";
  concurrency: string;
  timeout: string;
  maxRetries: string;
  retryDelay: string;
  maxTokens: string;
  temperature: string;
  topP: string;
  seed: string;
  adapter?: string;
  batchSize: string;
  chunkSize: string;
  device?: "cpu" | "cuda";
  dtype?: "bf16" | "fp16" | "fp32";
}

export function addBackendOptions(command: Command): Command {
  return command
    .addOption(new Option("--backend <name>", "generation backend").choices(["openai", "engine"]).default("openai"))
    .option("--model <name>", "(required) model: the server's model id (openai) or a Hugging Face model folder (engine)")
    .option("--base-url <url>", "openai: base URL of an OpenAI-compatible server", "http://127.0.0.1:8000/v1")
    .option("--api-key-env <name>", "openai: environment variable holding the API key (default OPENAI_API_KEY, then KIELO_API_KEY)")
    .addOption(
      new Option("--endpoint <kind>", "openai: chat-completions (chat models) or completions (base models)")
        .choices(["chat", "completions"])
        .default("chat"),
    )
    .option("--concurrency <n>", "openai: requests in flight at once", "8")
    .option("--timeout <seconds>", "openai: timeout per request", "300")
    .option("--max-retries <n>", "openai: retries of a request on 429/5xx/network errors", "5")
    .option("--retry-delay <ms>", "openai: first retry delay (doubled each retry, with jitter) unless the server sends Retry-After", "500")
    .option("--max-tokens <n>", "most tokens generated per segment", "1024")
    .option("--temperature <t>", "sampling temperature (0 = greedy)", "0")
    .option("--top-p <p>", "nucleus sampling", "1")
    .option("--seed <n>", "seed for sampling and retry jitter", "0")
    .option("--adapter <dir>", "engine: a LoRA adapter folder on top of --model")
    .option("--batch-size <n>", "engine: sequences per forward pass", "16")
    .option("--chunk-size <n>", "engine: requests per engine process (results are saved after each)", "256")
    .addOption(new Option("--device <device>", "engine: device").choices(["cpu", "cuda"]))
    .addOption(new Option("--dtype <dtype>", "engine: weights dtype").choices(["bf16", "fp16", "fp32"]));
}


export function decodingFromOptions(options: BackendCliOptions, stop: string[]): DecodingSettings {
  return {
    maxTokens: number(options.maxTokens, "--max-tokens", { integer: true, min: 1 }),
    temperature: number(options.temperature, "--temperature", { min: 0 }),
    topP: number(options.topP, "--top-p", { min: 0, max: 1 }),
    seed: number(options.seed, "--seed", { integer: true, min: 0 }),
    stop,
  };
}

/** Build the backend. `stop` is used by completion-style prompts only. */
export async function backendFromOptions(
  options: BackendCliOptions,
  stop: string[],
  log: (line: string) => void,
): Promise<{ backend: GenerationBackend; decoding: DecodingSettings }> {
  if (!options.model) throw new KieloError("--model is required: the server's model id (openai) or a model folder (engine)");
  const completionStyle = options.backend === "engine" || options.endpoint === "completions";
  const decoding = decodingFromOptions(options, completionStyle ? stop : []);
  if (options.backend === "engine") {
    const backend = await createEngineBackend({
      modelDir: options.model,
      decoding,
      batchSize: number(options.batchSize, "--batch-size", { integer: true, min: 1 }),
      chunkSize: number(options.chunkSize, "--chunk-size", { integer: true, min: 1 }),
      ...(options.adapter ? { adapterDir: options.adapter } : {}),
      ...(options.device ? { device: options.device } : {}),
      ...(options.dtype ? { dtype: options.dtype } : {}),
    });
    return { backend, decoding };
  }
  let apiKey: string | undefined;
  if (options.apiKeyEnv !== undefined) {
    apiKey = process.env[options.apiKeyEnv];
    if (!apiKey) throw new KieloError(`--api-key-env ${options.apiKeyEnv}: that environment variable is not set`, { hint: `export ${options.apiKeyEnv}=<key>, or leave --api-key-env out to use OPENAI_API_KEY.` });
  }
  const backend = createOpenAIBackend({
    baseUrl: options.baseUrl,
    ...(apiKey !== undefined ? { apiKey } : {}),
    model: options.model,
    endpoint: options.endpoint,
    decoding,
    concurrency: number(options.concurrency, "--concurrency", { integer: true, min: 1 }),
    timeoutMs: number(options.timeout, "--timeout", { min: 0.001 }) * 1000,
    retry: {
      maxAttempts: number(options.maxRetries, "--max-retries", { integer: true, min: 0 }) + 1,
      baseDelayMs: number(options.retryDelay, "--retry-delay", { min: 0 }),
      maxDelayMs: 30_000,
    },
    onRetry: (message) => log(`retry: ${message}`),
  });
  return { backend, decoding };
}
