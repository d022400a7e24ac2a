/**
 * job.json: the complete, validated instruction for the engine (docs/formats.md §3).
 *
 * Built from a recipe and the compiled data; the engine needs nothing else and guesses nothing.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { KieloError } from "../util/errors.ts";
import type { Recipe } from "./recipe.ts";

export interface JobSpec {
  format: "kielo-job";
  version: 1;
  method: "sft" | "dpo";
  seed: number;
  model: { path: string; dtype: "bf16" | "fp16" | "fp32"; trust_remote_code: boolean; attn_implementation: string };
  adapter: null | {
    type: "lora" | "qlora";
    r: number;
    alpha: number;
    dropout: number;
    target_modules: "all-linear" | string[];
    quant: null | { type: "nf4"; block_size: number; double_quant: boolean; compute_dtype: "bf16" | "fp16" | "fp32" };
  };
  init_adapter: string | null;
  optim: {
    lr: number;
    weight_decay: number;
    betas: [number, number];
    eps: number;
    max_grad_norm: number;
    schedule: "cosine" | "linear" | "constant";
    warmup_ratio: number;
  };
  steps: number;
  micro_batches_per_step: number;
  micro_batch_size: number;
  gradient_checkpointing: boolean | "auto";
  memory_limit_gib: number | null;
  neftune_alpha: number | null;
  dpo: null | {
    beta: number;
    loss: "sigmoid" | "ipo" | "hinge";
    label_smoothing: number;
    reference: "adapter-disabled" | "frozen-copy" | "precomputed";
  };
  eval: null | { every_steps: number };
  save_every_steps: number;
  keep_checkpoints: number;
  log_every_steps: number;
  output: { dir: string; save: "full" | "adapter" };
  /** Where the job came from; part of its identity, so changed data means a new job. */
  provenance: { recipe: string; train_sha256: string; eval_sha256: string | null; kielo_version: string };
}

export interface JobInputs {
  recipe: Recipe;
  recipePath: string;
  jobDir: string;
  steps: number;
  microBatchesPerStep: number;
  hasEval: boolean;
  trainSha256: string;
  evalSha256: string | null;
  kieloVersion: string;
  /** The settings of `recipe.init_adapter`, when there is one. */
  initAdapter?: InitAdapterConfig;
}

/**
 * The DPO reference model. `auto` picks what is both correct and cheapest:
 * - continuing from an SFT adapter: the reference is the SFT model itself, i.e. the policy before
 *   training, whose log-probs are computed once before training (`precomputed`). The
 *   adapter-disabled policy would be the base model, which is the wrong reference here;
 * - a fresh LoRA/QLoRA adapter: the adapter-disabled policy is exactly the starting policy;
 * - full fine-tuning: precomputed log-probs instead of a second full model in memory.
 */
export function dpoReference(recipe: Recipe): "adapter-disabled" | "frozen-copy" | "precomputed" {
  const chosen = recipe.dpo?.reference ?? "auto";
  if (chosen !== "auto") return chosen;
  if (recipe.init_adapter) return "precomputed";
  if (recipe.adapter.type !== "none") return "adapter-disabled";
  return "precomputed";
}

/** The LoRA settings of an existing adapter folder (peft's adapter_config.json). */
export interface InitAdapterConfig {
  r: number;
  alpha: number;
  dropout: number;
  target_modules: "all-linear" | string[];
}

export function readAdapterConfig(dir: string): InitAdapterConfig {
  const path = join(dir, "adapter_config.json");
  if (!existsSync(path)) {
    throw new KieloError(`init_adapter ${dir} is not a LoRA adapter folder (no adapter_config.json)`, {
      hint: "Point init_adapter at the model/ folder of a LoRA or QLoRA run; after a full fine-tune, set `model:` to its output instead.",
    });
  }
  const config = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  const modules = config["target_modules"];
  return {
    r: Number(config["r"]),
    alpha: Number(config["lora_alpha"]),
    dropout: Number(config["lora_dropout"] ?? 0),
    target_modules: Array.isArray(modules) ? (modules as string[]) : "all-linear",
  };
}

export function buildJobSpec(inputs: JobInputs): JobSpec {
  const { recipe } = inputs;
  const t = recipe.training;
  // Continuing from an adapter trains that adapter: its own rank and targets apply unless the
  // recipe names an adapter type (e.g. qlora, to keep the base in NF4).
  const adapter =
    recipe.init_adapter && recipe.adapter.type === "none"
      ? { ...recipe.adapter, type: "lora" as const, ...inputs.initAdapter! }
      : recipe.adapter;
  return {
    format: "kielo-job",
    version: 1,
    method: recipe.method,
    seed: t.seed,
    model: {
      path: recipe.model,
      dtype: recipe.dtype,
      trust_remote_code: recipe.trust_remote_code,
      attn_implementation: "auto",
    },
    adapter:
      adapter.type === "none"
        ? null
        : {
            type: adapter.type,
            r: adapter.r,
            alpha: adapter.alpha,
            dropout: adapter.dropout,
            target_modules: adapter.target_modules,
            quant:
              adapter.type === "qlora"
                ? {
                    type: "nf4",
                    block_size: adapter.quant.block_size,
                    double_quant: adapter.quant.double_quant,
                    compute_dtype: adapter.quant.compute_dtype,
                  }
                : null,
          },
    init_adapter: recipe.init_adapter ?? null,
    optim: {
      lr: t.lr,
      weight_decay: t.weight_decay,
      betas: t.betas,
      eps: t.eps,
      max_grad_norm: t.max_grad_norm,
      schedule: t.schedule,
      warmup_ratio: t.warmup_ratio,
    },
    steps: inputs.steps,
    micro_batches_per_step: inputs.microBatchesPerStep,
    micro_batch_size: t.micro_batch_size,
    gradient_checkpointing: t.gradient_checkpointing,
    memory_limit_gib: t.memory_limit_gib ?? null,
    neftune_alpha: recipe.method === "sft" ? t.neftune_alpha : null,
    dpo:
      recipe.method === "dpo"
        ? {
            beta: recipe.dpo!.beta,
            loss: recipe.dpo!.loss,
            label_smoothing: recipe.dpo!.label_smoothing,
            reference: dpoReference(recipe),
          }
        : null,
    eval: inputs.hasEval ? { every_steps: t.eval_every_steps ?? Math.max(1, Math.ceil(inputs.steps / 10)) } : null,
    save_every_steps: t.save_every_steps,
    keep_checkpoints: t.keep_checkpoints,
    log_every_steps: t.log_every_steps,
    output: { dir: join(inputs.jobDir, "model"), save: adapter.type === "none" && !recipe.init_adapter ? "full" : "adapter" },
    provenance: {
      recipe: inputs.recipePath,
      train_sha256: inputs.trainSha256,
      eval_sha256: inputs.evalSha256,
      kielo_version: inputs.kieloVersion,
    },
  };
}

/**
 * Global batch → micro-batches per step; the global batch must split evenly over GPUs. With a
 * token budget the number of micro-batches varies per step (0 here; schedule.ts decides).
 */
export function batchLayout(recipe: Recipe, gpus: number): { microBatchesPerStep: number; globalBatch: number } {
  if (recipe.training.micro_batch_tokens !== undefined) {
    return { microBatchesPerStep: 0, globalBatch: recipe.training.global_batch_size! };
  }
  const micro = recipe.training.micro_batch_size;
  const globalBatch = recipe.training.global_batch_size ?? micro * gpus;
  if (globalBatch % (micro * gpus) !== 0) {
    throw new KieloError(
      `training.global_batch_size ${globalBatch} is not a multiple of micro_batch_size ${micro} × ${gpus} GPU(s)`,
    );
  }
  return { microBatchesPerStep: globalBatch / micro, globalBatch };
}
