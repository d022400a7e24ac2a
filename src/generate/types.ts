/**
 * One interface for every text-generation backend (a local engine, an OpenAI-compatible server).
 *
 * A request carries either a plain prompt (completion style, for base models) or a message list
 * (chat style). Backends return one result per request and report each as soon as it is finished,
 * so callers can commit work incrementally (a crash loses at most what was in flight).
 */
import type { Message } from "../data/records.ts";

export interface GenerationRequest {
  /** Caller's key, returned unchanged in the result. */
  key: string;
  /** Completion-style prompt (base models). Exactly one of `prompt` and `messages` is set. */
  prompt?: string;
  /** Chat-style prompt (instruction-tuned models). */
  messages?: Message[];
}

export type FinishReason = "stop" | "length" | "other";

export interface GenerationResult {
  key: string;
  text: string;
  finishReason: FinishReason;
  /** Token counts when the backend knows them (server `usage`, engine token ids). */
  promptTokens?: number;
  completionTokens?: number;
}

/** Decoding settings; part of the translation cache key, so they are plain data. */
export interface DecodingSettings {
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  topP: number;
  seed: number;
  /** Stop strings (completion style). */
  stop: string[];
}

export interface GenerateOptions {
  /** Called once per request, as soon as its result is known. */
  onResult?: (result: GenerationResult) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface GenerationBackend {
  /** `openai` or `engine`. */
  readonly name: string;
  /** The model name as recorded in caches (server model id, or the model folder). */
  readonly model: string;
  /** Which prompt style the backend wants from callers. */
  readonly style: "chat" | "completion";
  /** Settings other than decoding that change outputs (endpoint, style …), for cache keys. */
  readonly identity: Record<string, unknown>;
  generate(requests: GenerationRequest[], options?: GenerateOptions): Promise<GenerationResult[]>;
}
