/**
 * The `openai` backend: any OpenAI-compatible server (vLLM, TGI, llama.cpp server, OpenAI itself)
 * through `fetch`, on its chat-completions or completions endpoint.
 *
 * The API key comes from OPENAI_API_KEY or KIELO_API_KEY and is only ever put in the Authorization
 * header: never logged, never stored, never part of an error message or a cache key.
 */
import { KieloError } from "../util/errors.ts";
import { runPool } from "./pool.ts";
import { DEFAULT_RETRY, TransientError, parseRetryAfter, withRetry, type RetryPolicy } from "./retry.ts";
import { seededRandom } from "../util/random.ts";
import type {
  DecodingSettings,
  FinishReason,
  GenerateOptions,
  GenerationBackend,
  GenerationRequest,
  GenerationResult,
} from "./types.ts";

export interface OpenAIBackendOptions {
  baseUrl: string;
  model: string;
  endpoint: "chat" | "completions";
  decoding: DecodingSettings;
  concurrency: number;
  /** Per-request timeout in ms. */
  timeoutMs: number;
  retry?: RetryPolicy;
  /** Defaults to OPENAI_API_KEY, then KIELO_API_KEY. */
  apiKey?: string;
  /** Told about each retry (for a log line); never given the key. */
  onRetry?: (message: string) => void;
}

export function apiKeyFromEnvironment(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env["OPENAI_API_KEY"] || env["KIELO_API_KEY"] || undefined;
}

export function createOpenAIBackend(options: OpenAIBackendOptions): GenerationBackend {
  const apiKey = options.apiKey ?? apiKeyFromEnvironment();
  const base = options.baseUrl.replace(/\/+$/, "");
  const url = `${base}/${options.endpoint === "chat" ? "chat/completions" : "completions"}`;
  const policy = options.retry ?? DEFAULT_RETRY;
  // Jitter is seeded so that a run's retry timing is reproducible from its seed.
  const random = seededRandom((options.decoding.seed ^ 0x9e3779b9) >>> 0);

  async function once(request: GenerationRequest, signal?: AbortSignal): Promise<GenerationResult> {
    const body = requestBody(options, request);
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
        },
        body: JSON.stringify(body),
        signal: combined,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted) throw new TransientError(`no answer from ${url} within ${options.timeoutMs} ms`);
      throw new TransientError(`cannot reach ${url}: ${describeNetworkError(error)}`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new TransientError(`connection to ${url} broke while reading the answer: ${describeNetworkError(error)}`);
    }
    if (response.status === 429 || response.status >= 500) {
      throw new TransientError(
        `${url} answered ${response.status} ${response.statusText}: ${serverMessage(text)}`,
        parseRetryAfter(response.headers.get("retry-after")),
      );
    }
    if (!response.ok) {
      throw new KieloError(`${url} answered ${response.status} ${response.statusText}: ${serverMessage(text)}`, {
        hint:
          response.status === 401 || response.status === 403
            ? "set the API key in OPENAI_API_KEY or KIELO_API_KEY"
            : response.status === 404
              ? "check --base-url (it usually ends in /v1), --endpoint and --model"
              : undefined,
      });
    }
    return parseAnswer(url, options.endpoint, request.key, text);
  }

  return {
    name: "openai",
    model: options.model,
    style: options.endpoint === "chat" ? "chat" : "completion",
    identity: { backend: "openai", endpoint: options.endpoint },
    async generate(requests, generateOptions: GenerateOptions = {}) {
      const results: GenerationResult[] = new Array(requests.length);
      await runPool(requests, options.concurrency, async (request, index) => {
        const result = await withRetry(
          () => once(request, generateOptions.signal),
          policy,
          random,
          generateOptions.signal,
          (error, attempt, delay) =>
            options.onRetry?.(`${error.message} (attempt ${attempt}/${policy.maxAttempts}, retrying in ${(delay / 1000).toFixed(1)}s)`),
        ).catch((error: unknown) => {
          if (error instanceof TransientError) {
            throw new KieloError(`giving up after ${policy.maxAttempts} attempts: ${error.message}`);
          }
          throw error;
        });
        results[index] = result;
        await generateOptions.onResult?.(result);
      });
      return results;
    },
  };
}

function requestBody(options: OpenAIBackendOptions, request: GenerationRequest): Record<string, unknown> {
  const { decoding } = options;
  const body: Record<string, unknown> = {
    model: options.model,
    max_tokens: decoding.maxTokens,
    temperature: decoding.temperature,
    top_p: decoding.topP,
    seed: decoding.seed,
  };
  if (decoding.stop.length > 0) body["stop"] = decoding.stop;
  if (options.endpoint === "chat") {
    if (request.messages === undefined) throw new Error(`request ${request.key} has no messages for the chat endpoint`);
    body["messages"] = request.messages;
  } else {
    if (request.prompt === undefined) throw new Error(`request ${request.key} has no prompt for the completions endpoint`);
    body["prompt"] = request.prompt;
  }
  return body;
}

interface Choice {
  message?: { content?: unknown };
  text?: unknown;
  finish_reason?: unknown;
}

function parseAnswer(url: string, endpoint: "chat" | "completions", key: string, text: string): GenerationResult {
  let parsed: { choices?: Choice[]; usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new KieloError(`${url} answered with something that is not JSON: ${truncate(text, 200)}`);
  }
  const choice = parsed.choices?.[0];
  const content = endpoint === "chat" ? choice?.message?.content : choice?.text;
  if (typeof content !== "string") {
    throw new KieloError(
      `${url} answered without ${endpoint === "chat" ? "choices[0].message.content" : "choices[0].text"}: ${truncate(text, 200)}`,
    );
  }
  const result: GenerationResult = { key, text: content, finishReason: finishReason(choice?.finish_reason) };
  if (typeof parsed.usage?.prompt_tokens === "number") result.promptTokens = parsed.usage.prompt_tokens;
  if (typeof parsed.usage?.completion_tokens === "number") result.completionTokens = parsed.usage.completion_tokens;
  return result;
}

function finishReason(value: unknown): FinishReason {
  if (value === "length") return "length";
  if (value === "stop" || value === "eos" || value === null || value === undefined) return "stop";
  return "other";
}

/** The error text a server put in its body: OpenAI's `{"error":{"message"}}`, else the raw text. */
function serverMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown } | string | null;
    if (typeof parsed === "string") return parsed;
    if (parsed === null || typeof parsed !== "object") return truncate(text.trim(), 300);
    if (typeof parsed.error === "string") return parsed.error;
    if (typeof parsed.error?.message === "string") return parsed.error.message;
    if (typeof parsed.message === "string") return parsed.message;
    if (typeof parsed.detail === "string") return parsed.detail;
  } catch {
    // not JSON: use the text itself
  }
  return truncate(text.trim() || "(empty body)", 300);
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
