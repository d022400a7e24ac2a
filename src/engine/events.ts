/** The engine's events (docs/formats.md §3), as TypeScript types. */

export interface EngineEventBase {
  type: string;
  time?: number;
}

export interface StartEvent extends EngineEventBase {
  type: "start";
  world_size?: number;
  device?: string;
  dtype?: string;
  params?: number;
  trainable_params?: number;
  resumed_from_step?: number | null;
  steps?: number;
  method?: string;
  /** Full fine-tuning keeps fp32 master weights (`param_dtype`) and computes in `compute_dtype`. */
  param_dtype?: string;
  compute_dtype?: string;
}

export interface StepEvent extends EngineEventBase {
  type: "step";
  step: number;
  loss: number;
  lr?: number;
  grad_norm?: number;
  tokens?: number;
  trained_tokens?: number;
  tokens_per_s?: number;
  [metric: string]: unknown;
}

export interface EvalEvent extends EngineEventBase {
  type: "eval";
  step: number;
  loss: number;
  [metric: string]: unknown;
}

export interface CheckpointEvent extends EngineEventBase {
  type: "checkpoint";
  step: number;
  path: string;
}

export interface DoneEvent extends EngineEventBase {
  type: "done";
  step?: number;
  output?: string;
  tokens_per_s?: number;
  peak_memory_bytes?: number;
  seconds?: number;
  [metric: string]: unknown;
}

export interface ErrorEvent extends EngineEventBase {
  type: "error";
  kind: string;
  message: string;
  hint?: string;
}

export type EngineEvent = StartEvent | StepEvent | EvalEvent | CheckpointEvent | DoneEvent | ErrorEvent | EngineEventBase;

/** Parse one stdout line; undefined when the line is not an event (plain output from a library). */
export function parseEvent(line: string): EngineEvent | undefined {
  const text = line.trim();
  if (!text.startsWith("{")) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === "object" && typeof (value as { type?: unknown }).type === "string") {
      return value as EngineEvent;
    }
  } catch {
    // not an event
  }
  return undefined;
}

const HINTS: Record<string, string> = {
  oom: "Lower training.micro_batch_size (keep global_batch_size: accumulation makes up the difference), lower data.max_length, enable training.gradient_checkpointing, or use adapter.type: qlora.",
  nan: "Lower training.lr, use dtype bf16 instead of fp16, or check the data with `kielo data inspect`.",
  "model-not-found": "Point `model:` at a local Hugging Face folder with config.json and *.safetensors.",
  "bad-job": "The job folder is inconsistent; re-create it with `kielo train … --force`.",
  interrupted: "Run the same command again to resume from the last checkpoint.",
};

export function hintFor(event: ErrorEvent): string | undefined {
  return event.hint ?? HINTS[event.kind];
}
