/**
 * Training recipes: YAML files validated by a schema, with errors that name the file and field.
 *
 * A recipe says what to train (model, data, method) and how (adapter, optimiser, batch, schedule).
 * Relative paths in a recipe are resolved against the recipe file's folder, so a recipe and its
 * data can be moved together.
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { LineCounter, parseDocument, YAMLParseError, type Document } from "yaml";
import { z } from "zod";
import { KieloError } from "../util/errors.ts";
import { didYouMean } from "../util/suggest.ts";
import { applyOverrides, parseOverride, type Override } from "./overrides.ts";

const positiveInt = z.number().int().positive();

export const DataSchema = z
  .object({
    /** Canonical records (JSONL) to train on: a file, or a list of files taken in order. */
    train: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    /** Held-out records for evaluation loss; or use `eval_fraction`. */
    eval: z.string().optional(),
    /** Fraction of `train` held out for evaluation when `eval` is not given (seeded). */
    eval_fraction: z.number().min(0).lt(1).default(0),
    /** Chat template: `model` (the tokenizer's own), `llama-2`, `chatml`, `qa-context`, `file:<path>`. */
    template: z.string().optional(),
    /** Which tokens are trained (SFT): all (the paper's default), assistant (prompt masking), last-assistant. */
    policy: z.enum(["all", "assistant", "last-assistant"]).default("all"),
    max_length: positiveInt.default(2048),
    truncation: z.enum(["drop", "keep-start", "keep-end"]).optional(),
    /** Pack documents into sequences of this many tokens (SFT only); false = no packing. */
    packing: z.union([z.literal(false), positiveInt]).default(false),
    /** Batch sequences of similar length together (less padding), as transformers' group_by_length. */
    group_by_length: z.boolean().default(false),
  })
  .strict();

export const AdapterSchema = z
  .object({
    type: z.enum(["none", "lora", "qlora"]).default("none"),
    r: positiveInt.default(16),
    alpha: z.number().positive().default(32),
    dropout: z.number().min(0).lt(1).default(0.05),
    target_modules: z.union([z.literal("all-linear"), z.array(z.string()).min(1)]).default("all-linear"),
    /** NF4 quantisation of the base model (QLoRA). */
    quant: z
      .object({
        block_size: positiveInt.default(64),
        double_quant: z.boolean().default(true),
        compute_dtype: z.enum(["bf16", "fp16", "fp32"]).default("bf16"),
      })
      .strict()
      .default({ block_size: 64, double_quant: true, compute_dtype: "bf16" }),
  })
  .strict();

export const TrainingSchema = z
  .object({
    /** Whole passes over the data (the schedule shuffles once per epoch). */
    epochs: z.number().int("must be a whole number of epochs (1, 2, 3 …)").positive().default(1),
    /** Sequences per micro-batch on one device. */
    micro_batch_size: positiveInt.default(1),
    /** Sequences per optimizer step over all devices; default micro_batch_size × gpus (no accumulation). */
    global_batch_size: positiveInt.optional(),
    /**
     * Micro-batches by token budget instead of micro_batch_size: each step's global_batch_size
     * sequences are split into micro-batches of at most this many tokens (longest first).
     */
    micro_batch_tokens: positiveInt.optional(),
    lr: z.number().positive(),
    schedule: z.enum(["cosine", "linear", "constant"]).default("cosine"),
    warmup_ratio: z.number().min(0).max(1).default(0),
    weight_decay: z.number().min(0).default(0),
    max_grad_norm: z.number().positive().default(1),
    betas: z.tuple([z.number(), z.number()]).default([0.9, 0.999]),
    eps: z.number().positive().default(1e-8),
    /** Recompute activations in backward: true, false, or auto (only as many layers as GPU memory requires). */
    gradient_checkpointing: z.union([z.boolean(), z.literal("auto")]).default("auto"),
    /** GPU memory this run may use (GiB, per GPU): auto checkpointing plans for it and the engine enforces it. */
    memory_limit_gib: z.number().positive().optional(),
    /** NEFTune noise α (5–15 typical); null = off. */
    neftune_alpha: z.number().positive().nullable().default(null),
    seed: z.number().int().min(0).default(42),
    save_every_steps: positiveInt.default(100),
    keep_checkpoints: positiveInt.default(2),
    log_every_steps: positiveInt.default(1),
    eval_every_steps: positiveInt.optional(),
  })
  .strict();

export const DpoSchema = z
  .object({
    beta: z.number().positive().default(0.1),
    loss: z.enum(["sigmoid", "ipo", "hinge"]).default("sigmoid"),
    /** cDPO label smoothing ε (sigmoid loss only). */
    label_smoothing: z.number().min(0).lt(0.5).default(0),
    /** auto = adapter-disabled policy for LoRA/QLoRA, precomputed log-probs for full fine-tuning. */
    reference: z.enum(["auto", "adapter-disabled", "frozen-copy", "precomputed"]).default("auto"),
  })
  .strict();

export const RecipeSchema = z
  .object({
    method: z.enum(["sft", "dpo"]),
    /** A local Hugging Face model folder (safetensors). For DPO after LoRA SFT: the base model. */
    model: z.string(),
    /** Start from this adapter (e.g. the SFT adapter, for DPO). */
    init_adapter: z.string().optional(),
    dtype: z.enum(["bf16", "fp16", "fp32"]).default("bf16"),
    trust_remote_code: z.boolean().default(false),
    data: DataSchema,
    adapter: AdapterSchema.default({
      type: "none",
      r: 16,
      alpha: 32,
      dropout: 0.05,
      target_modules: "all-linear",
      quant: { block_size: 64, double_quant: true, compute_dtype: "bf16" },
    }),
    training: TrainingSchema,
    dpo: DpoSchema.optional(),
    /** The job folder (compiled data, checkpoints, events, final model). */
    output: z.string().optional(),
    /** A label for the run in kielo.db (default: the recipe file name). */
    label: z.string().optional(),
  })
  .strict();

export type Recipe = z.infer<typeof RecipeSchema>;

/** The training record files of a recipe, in order (`data.train` is one file or a list). */
export function trainFiles(recipe: Recipe): string[] {
  return typeof recipe.data.train === "string" ? [recipe.data.train] : recipe.data.train;
}

/**
 * Read, validate and resolve a recipe file. `overrides` (`--set training.lr=1e-4`) replace values
 * of the file before it is validated, so they are checked by the same schema.
 */
/** The recipe fields that name files or folders, by dotted path (`data.template` only in its `file:` form). */
export const RECIPE_PATH_FIELDS = ["model", "data.train", "data.eval", "init_adapter", "output", "data.template"] as const;

/**
 * `value` of the recipe field `field` with its relative paths resolved by `at`; the value as it is
 * for other fields. Paths are relative to the file that wrote them: the recipe, or a study's `set`.
 */
export function resolvePathField(field: string, value: unknown, at: (path: string) => string): unknown {
  if (!(RECIPE_PATH_FIELDS as readonly string[]).includes(field)) return value;
  if (field === "data.template") return typeof value === "string" && value.startsWith("file:") ? `file:${at(value.slice(5))}` : value;
  if (typeof value === "string") return at(value);
  if (Array.isArray(value)) return value.map((item: unknown) => (typeof item === "string" ? at(item) : item));
  return value;
}

export async function loadRecipe(path: string, overrides: readonly string[] = []): Promise<Recipe> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new KieloError(`cannot read recipe ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    const where = yamlError instanceof YAMLParseError ? `:${lines.linePos(yamlError.pos[0]).line}` : "";
    throw new KieloError(`${path}${where}: invalid YAML: ${yamlError.message.split("\n")[0]}`);
  }
  const parsed = overrides.map((o) => parseOverride(o));
  const raw = applyOverrides(doc.toJS() as unknown, parsed);
  return parseRecipe(raw, path, { doc, lines, overrides: parsed });
}

/** Where a recipe's values came from, for error messages: YAML line numbers and --set options. */
export interface RecipeSource {
  doc?: Document;
  lines?: LineCounter;
  overrides?: readonly Override[];
}

function describeIssue(issue: z.core.$ZodIssue, path: string, source: RecipeSource): string {
  const keyPath = issue.path.map(String);
  const field = keyPath.join(".");
  const override = source.overrides?.find((o) => o.path.join(".") === field || (issue.code === "unrecognized_keys" && o.path.slice(0, -1).join(".") === field));
  const lineOf = (p: readonly string[]): string => {
    const node = source.doc?.getIn(p, true) as { range?: [number, number, number] } | undefined;
    const offset = node?.range?.[0];
    return offset === undefined || source.lines === undefined ? "" : `${path}:${source.lines.linePos(offset).line}: `;
  };
  if (issue.code === "unrecognized_keys") {
    const known = keysAt(keyPath);
    return issue.keys
      .map((key) => {
        const name = [...keyPath, key].join(".");
        const set = source.overrides?.find((o) => o.path.join(".") === name);
        return `  ${set !== undefined ? `--set ${set.text}: ` : lineOf([...keyPath, key])}${name}: unknown field${didYouMean(key, known)}`;
      })
      .join("\n");
  }
  const message = issue.code === "invalid_type" && /received undefined$/.test(issue.message) ? "required, but missing" : issue.message;
  const where = override !== undefined ? `--set ${override.text}: ` : lineOf(keyPath);
  return `  ${where}${field || "(top level)"}: ${message}`;
}

/** The field names a recipe accepts at `path` (for "did you mean"). */
function keysAt(path: readonly string[]): string[] {
  let schema: unknown = RecipeSchema;
  for (const key of [...path, null]) {
    // Look through defaults, optionals and nullables to the object inside.
    while (schema !== null && typeof schema === "object" && typeof (schema as { unwrap?: unknown }).unwrap === "function" && !("shape" in schema)) {
      schema = (schema as { unwrap: () => unknown }).unwrap();
    }
    const shape = (schema as { shape?: Record<string, unknown> } | null)?.shape;
    if (shape === undefined) return [];
    if (key === null) return Object.keys(shape);
    schema = shape[key];
  }
  return [];
}

export function parseRecipe(raw: unknown, path: string, source: RecipeSource = {}): Recipe {
  const parsed = RecipeSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => describeIssue(issue, path, source));
    throw new KieloError(`${path}: invalid recipe:\n${problems.join("\n")}`, {
      hint: "See recipes/ for complete examples and README § kielo train for every field.",
    });
  }
  const recipe = parsed.data;
  if (recipe.method === "dpo" && recipe.data.packing !== false) {
    throw new KieloError(`${path}: data.packing: preference data is never packed; remove it for a DPO recipe.`);
  }
  if (recipe.training.micro_batch_tokens !== undefined && recipe.training.global_batch_size === undefined) {
    throw new KieloError(`${path}: training.micro_batch_tokens needs training.global_batch_size (sequences per optimizer step)`, {
      hint: "Set global_batch_size to the number of sequences each optimizer step should see, e.g. 64.",
    });
  }
  if (recipe.dtype === "fp16" && recipe.adapter.type === "none" && !recipe.init_adapter) {
    throw new KieloError(
      `${path}: dtype: fp16 full fine-tuning needs loss scaling, which the engine does not do; use bf16 (or fp32), or an adapter`,
    );
  }
  const base = dirname(resolve(path));
  const at = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  recipe.model = resolvePathField("model", recipe.model, at) as string;
  recipe.data.train = resolvePathField("data.train", recipe.data.train, at) as string | string[];
  recipe.data.eval = resolvePathField("data.eval", recipe.data.eval, at) as string | undefined;
  recipe.init_adapter = resolvePathField("init_adapter", recipe.init_adapter, at) as string | undefined;
  recipe.output = resolvePathField("output", recipe.output, at) as string | undefined;
  recipe.data.template = resolvePathField("data.template", recipe.data.template, at) as string | undefined;
  if (recipe.method === "dpo" && recipe.dpo === undefined) recipe.dpo = DpoSchema.parse({});
  return recipe;
}
