/**
 * Scorers that run a local Hugging Face model on the engine:
 * - `classifier`: any sequence-classification folder (toxicity, sentiment, bias …); the label is
 *   the most probable class of the model's `id2label`, the score the probability of the class
 *   named by `label` in the config (default: of the most probable class).
 * - `embedding`: relevance as the cosine of the mean-pooled embeddings of prompt and answer.
 * Texts are tokenised here with the model's own tokenizer (special tokens added) and cut to
 * `max_tokens`.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { engineScore, type EngineScoreOptions } from "../../../engine/score.ts";
import { findPython } from "../../../engine/python.ts";
import { loadTokenizer } from "../../../tokenize/tokenizer-folder.ts";
import { KieloError } from "../../../util/errors.ts";
import type { Score, ScoreInput, Scorer } from "./types.ts";

export interface EngineScorerSettings {
  name: string;
  model: string;
  label?: string | undefined;
  batch_size: number;
  max_tokens: number;
  device?: "cpu" | "cuda" | undefined;
  dtype?: "bf16" | "fp16" | "fp32" | undefined;
  python?: string | undefined;
}

async function tokenise(settings: EngineScorerSettings, texts: readonly string[]): Promise<{ ids: number[][]; padId: number }> {
  const loaded = loadTokenizer(settings.model);
  const ids: number[][] = [];
  for (const text of texts) {
    const all = (await loaded.tokenizer.encode(text, null, { addSpecialTokens: true })).getIds();
    ids.push(all.length === 0 ? [loaded.special.bos_token?.id ?? 0] : all.slice(0, settings.max_tokens));
  }
  const padId = loaded.special.pad_token?.id ?? loaded.special.eos_token?.id ?? 0;
  return { ids, padId };
}

function engineOptions(settings: EngineScorerSettings, padId: number, onProgress?: (done: number) => void): EngineScoreOptions {
  return {
    python: findPython(settings.python),
    modelDir: settings.model,
    batchSize: settings.batch_size,
    padId,
    device: settings.device,
    dtype: settings.dtype,
    ...(onProgress ? { onProgress: (done: number) => onProgress(done) } : {}),
  };
}

function modelLabels(model: string): string[] {
  const path = join(model, "config.json");
  let config: { id2label?: Record<string, string> };
  try {
    config = JSON.parse(readFileSync(path, "utf8")) as typeof config;
  } catch (error) {
    throw new KieloError(`classifier ${model}: cannot read ${path} (${(error as Error).message})`, {
      hint: "point `model:` at a Hugging Face sequence-classification folder (config.json, model.safetensors, tokenizer.json)",
    });
  }
  return Object.values(config.id2label ?? {});
}

export function classifierScorer(settings: EngineScorerSettings): Scorer {
  const labels = modelLabels(settings.model);
  if (settings.label !== undefined && !labels.includes(settings.label)) {
    throw new KieloError(`scorer ${settings.name}: label ${JSON.stringify(settings.label)} is not one of the model's labels (${labels.join(", ")})`, {
      hint: `set label: to one of ${labels.join(", ")} in the scorer config`,
    });
  }
  return {
    name: settings.name,
    version: { kind: "classifier", model: resolve(settings.model), label: settings.label ?? null, labels, max_tokens: settings.max_tokens },
    async score(inputs: readonly ScoreInput[], onProgress): Promise<Score[]> {
      const { ids, padId } = await tokenise(settings, inputs.map((input) => input.answer));
      const results = await engineScore("classify", ids, engineOptions(settings, padId, onProgress));
      return results.map((result) => {
        const probs = "probs" in result ? result.probs : {};
        const [top] = Object.entries(probs).sort((a, b) => b[1] - a[1]);
        const label = top?.[0] ?? null;
        return { label, score: settings.label !== undefined ? (probs[settings.label] ?? null) : (top?.[1] ?? null) };
      });
    },
  };
}

export function embeddingScorer(settings: EngineScorerSettings): Scorer {
  return {
    name: settings.name,
    version: { kind: "embedding", model: resolve(settings.model), pooling: "mean", similarity: "cosine", max_tokens: settings.max_tokens },
    async score(inputs: readonly ScoreInput[], onProgress): Promise<Score[]> {
      const texts = inputs.flatMap((input) => [input.prompt, input.answer]);
      const { ids, padId } = await tokenise(settings, texts);
      const results = await engineScore("embed", ids, engineOptions(settings, padId, onProgress && ((done) => onProgress(Math.floor(done / 2)))));
      return inputs.map((input, i) => {
        if (input.prompt.trim() === "") return { label: null, score: null };
        const a = results[2 * i]!;
        const b = results[2 * i + 1]!;
        if (!("embedding" in a) || !("embedding" in b)) return { label: null, score: null };
        return { label: null, score: a.embedding.reduce((sum, x, k) => sum + x * b.embedding[k]!, 0) };
      });
    },
  };
}
