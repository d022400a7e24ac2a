/**
 * The engine's events (docs/formats.md §3): one JSON object per stdout line, parsed with a zod
 * discriminated union on `type`.
 *
 * This is the one definition of the events. `engine/kielo_engine/events.schema.json` is generated
 * from it (`node scripts/engine-events-schema.ts`; test/engine/events.test.ts fails when it is out of
 * date), and the engine's tests validate every event the engine emits against that file (fields
 * and types; no field the schema does not know), and check that the engine emits every type listed
 * here — so the two sides cannot drift apart.
 */
import { z } from "zod";

/** Numbers that are not finite are written as null by the engine. */
const finite = z.number().nullable();
const count = z.int().min(0);
const time = { time: z.number().optional() };

/** DPO metrics of a step or an evaluation. */
const preferenceMetrics = {
  pairs: count.optional(),
  rewards_chosen: finite.optional(),
  rewards_rejected: finite.optional(),
  margins: finite.optional(),
  accuracy: finite.optional(),
};

export const StartEventSchema = z.object({
  type: z.literal("start"),
  ...time,
  method: z.enum(["sft", "dpo"]),
  world_size: z.int().min(1),
  device: z.string(),
  /** The job's dtype. */
  dtype: z.string(),
  /** What the optimizer updates: fp32 master weights for full fine-tuning, and for adapters. */
  param_dtype: z.string(),
  /** What forward and backward compute in. */
  compute_dtype: z.string(),
  /** The attention kernel and why it was chosen (e.g. "sdpa (no GPU)"). */
  attention: z.string(),
  /** flat: a micro-batch's rows packed into one row (varlen attention); rows: padded rows. */
  layout: z.enum(["flat", "rows"]),
  /** Which layers recompute activations in backward, and why. */
  gradient_checkpointing: z.string(),
  /** Fused kernels patched into the model, or why none were. */
  kernels: z.string(),
  params: count,
  trainable_params: count,
  resumed_from_step: count,
  steps: count,
});

export const StepEventSchema = z.object({
  type: z.literal("step"),
  ...time,
  step: z.int().min(1),
  loss: finite,
  /** The learning rate this step used. */
  lr: finite,
  /** Before clipping. */
  grad_norm: finite,
  /** Real (non-padding) tokens of this step, all ranks. */
  tokens: count,
  /** SFT: tokens the loss was computed on. */
  trained_tokens: count.nullable().optional(),
  tokens_per_s: finite,
  ...preferenceMetrics,
});

export const EvalEventSchema = z.object({
  type: z.literal("eval"),
  ...time,
  step: z.int().min(0),
  loss: finite,
  trained_tokens: count.optional(),
  ...preferenceMetrics,
});

export const CheckpointEventSchema = z.object({
  type: z.literal("checkpoint"),
  ...time,
  step: z.int().min(1),
  path: z.string(),
});

/** What the fast generation backend did (engine/kielo_engine/decode/engine.py, FastReport). */
const FastGenerationReportSchema = z.object({
  attention: z.string(),
  graphs: z.boolean(),
  graphs_captured: count,
  capture_seconds: z.number(),
  prefill_seconds: z.number(),
  decode_seconds: z.number(),
  steps: count,
  /** Rows in flight at once. */
  slots: count,
  cache_length: count,
  notes: z.array(z.string()),
});

/** A special token the import took from the GGUF header. */
const SpecialTokenSchema = z.object({ id: count, token: z.string() });

/**
 * `done` of a training run, a generation, a scoring, a merge and a GGUF import: each sets its own
 * fields (one event type, so that every command ends the same way for runEngine).
 */
export const DoneEventSchema = z.object({
  type: z.literal("done"),
  ...time,
  output: z.string().optional(),
  seconds: finite.optional(),
  tokens_per_s: finite.optional(),
  // training
  step: count.optional(),
  loss: finite.optional(),
  eval_loss: finite.optional(),
  tokens: count.optional(),
  peak_memory_bytes: count.nullable().optional(),
  peak_memory_kind: z.enum(["cuda-max-memory-allocated", "cpu-max-rss"]).nullable().optional(),
  // generation and scoring
  requests: count.optional(),
  generated_tokens: count.optional(),
  /** The generation backend that ran. */
  backend: z.enum(["fast", "transformers"]).optional(),
  /** Why transformers' generate ran instead of the fast backend. */
  backend_reason: z.string().optional(),
  fast: FastGenerationReportSchema.optional(),
  // GGUF import (the provenance record, also written to kielo-import.json)
  source: z.string().optional(),
  sha256: z.string().optional(),
  bytes: count.optional(),
  architecture: z.string().optional(),
  name: z.string().nullable().optional(),
  /** The written weights' dtype. */
  dtype: z.enum(["bf16", "fp32"]).optional(),
  params: count.optional(),
  special_tokens: z.record(z.string(), SpecialTokenSchema).optional(),
  stop_token_ids: z.union([count, z.array(count)]).nullable().optional(),
  gguf_add_bos_token: z.boolean().nullable().optional(),
  /** Whether the GGUF carried a chat template. */
  chat_template: z.boolean().optional(),
  /** Versions of transformers and gguf that made the folder. */
  transformers: z.string().optional(),
  gguf: z.string().nullable().optional(),
});

export const ERROR_KINDS = ["oom", "nan", "model-not-found", "bad-job", "interrupted", "internal", "rank-failed"] as const;

export const ErrorEventSchema = z.object({
  type: z.literal("error"),
  ...time,
  kind: z.enum(ERROR_KINDS),
  message: z.string(),
  hint: z.string().nullable().optional(),
  /** Under torchrun: the rank that failed first. */
  rank: z.int().min(0).optional(),
});

/** Progress of a generation or a scoring (requests done of total), or the phase an import is in. */
export const ProgressEventSchema = z.object({
  type: z.literal("progress"),
  ...time,
  done: count.optional(),
  total: count.optional(),
  phase: z.string().optional(),
});

export const EngineEventSchema = z.discriminatedUnion("type", [
  StartEventSchema,
  StepEventSchema,
  EvalEventSchema,
  CheckpointEventSchema,
  DoneEventSchema,
  ErrorEventSchema,
  ProgressEventSchema,
]);

export type StartEvent = z.infer<typeof StartEventSchema>;
export type StepEvent = z.infer<typeof StepEventSchema>;
export type EvalEvent = z.infer<typeof EvalEventSchema>;
export type CheckpointEvent = z.infer<typeof CheckpointEventSchema>;
export type DoneEvent = z.infer<typeof DoneEventSchema>;
export type ErrorEvent = z.infer<typeof ErrorEventSchema>;
export type ProgressEvent = z.infer<typeof ProgressEventSchema>;
export type EngineEvent = z.infer<typeof EngineEventSchema>;

/** Every event type, as the engine must know them too. */
export const EVENT_TYPES = EngineEventSchema.options.map((option) => option.shape.type.value);

export type ParsedLine = { kind: "event"; event: EngineEvent } | { kind: "invalid"; type: string; problem: string } | { kind: "output" };

/**
 * One stdout line: an event, a JSON object with a `type` that does not fit the schema (reported, so
 * a drift between engine and CLI is seen instead of silently ignored), or plain output from a library.
 */
export function parseLine(line: string): ParsedLine {
  const text = line.trim();
  if (!text.startsWith("{")) return { kind: "output" };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "output" };
  }
  const parsed = EngineEventSchema.safeParse(value);
  if (parsed.success) return { kind: "event", event: parsed.data };
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type !== "string") return { kind: "output" };
  const issue = parsed.error.issues[0]!;
  return { kind: "invalid", type, problem: `${issue.path.join(".") || "(event)"}: ${issue.message}` };
}

/** Parse one stdout line; undefined when the line is not a valid event. */
export function parseEvent(line: string): EngineEvent | undefined {
  const parsed = parseLine(line);
  return parsed.kind === "event" ? parsed.event : undefined;
}

/** The JSON Schema of the events, as written to engine/kielo_engine/events.schema.json. */
export function eventsJsonSchema(): unknown {
  const schema = z.toJSONSchema(EngineEventSchema, { io: "input" });
  // The contract is closed, nested objects included: an engine field unknown here is a drift to
  // fix, not to ignore. (A record's values are objects too; its own keys stay open.)
  const close = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(close);
    if (typeof node !== "object" || node === null) return;
    const object = node as Record<string, unknown>;
    if (object.type === "object" && object.properties !== undefined) object.additionalProperties = false;
    Object.values(object).forEach(close);
  };
  close(schema);
  return schema;
}

const HINTS: Record<string, string> = {
  oom: "Lower training.micro_batch_size (keep global_batch_size: accumulation makes up the difference), lower data.max_length, enable training.gradient_checkpointing, or use adapter.type: qlora.",
  nan: "Lower training.lr, use dtype bf16 instead of fp16, or check the data with `kielo data inspect`.",
  "model-not-found": "Point `model:` at a local Hugging Face folder with config.json and *.safetensors.",
  "bad-job": "The job folder is inconsistent; re-create it with `kielo train … --force`.",
  interrupted: "Run the same command again to resume from the last checkpoint.",
  "rank-failed": "Another rank's error is the cause (above); run the same command again to resume from the last checkpoint.",
};

export function hintFor(event: ErrorEvent): string | undefined {
  return event.hint ?? HINTS[event.kind];
}
