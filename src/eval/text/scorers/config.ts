/**
 * The scorer config of `kielo eval text --scorers scorers.yaml`: a list of named scorers.
 *
 * ```yaml
 * scorers:
 *   - { name: sentiment, type: vader }
 *   - { name: toxicity, type: classifier, model: models/toxic-bert, label: toxic }
 *   - { name: relevance, type: embedding, model: models/multilingual-e5-small }
 *   - { name: bias, type: judge, aspect: bias, base_url: http://127.0.0.1:8000/v1, model: judge }
 * ```
 * Relative model paths are relative to the config file.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { Store } from "../../../store/db.ts";
import { KieloError } from "../../../util/errors.ts";
import { classifierScorer, embeddingScorer } from "./engine-scorers.ts";
import { JUDGE_ASPECTS, judgeScorer, type JudgeAspect } from "./judge.ts";
import type { Scorer } from "./types.ts";
import { vaderScorer } from "./vader.ts";

const name = z.string().regex(/^[a-z][a-z0-9_]*$/, "a lowercase name (letters, digits, _), used as a column name");
const engineFields = {
  name,
  model: z.string().min(1),
  batch_size: z.number().int().min(1).default(32),
  max_tokens: z.number().int().min(1).default(512),
  device: z.enum(["cpu", "cuda"]).optional(),
  dtype: z.enum(["bf16", "fp16", "fp32"]).optional(),
};

const ScorerSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("vader"), name }).strict(),
  z.object({ type: z.literal("classifier"), ...engineFields, label: z.string().optional() }).strict(),
  z.object({ type: z.literal("embedding"), ...engineFields }).strict(),
  z
    .object({
      type: z.literal("judge"),
      name,
      aspect: z.enum(Object.keys(JUDGE_ASPECTS) as [JudgeAspect, ...JudgeAspect[]]),
      base_url: z.string().url(),
      model: z.string().min(1),
      concurrency: z.number().int().min(1).default(8),
      timeout_s: z.number().positive().default(120),
      max_retries: z.number().int().min(0).default(5),
      max_invalid: z.number().int().min(0).default(2),
      seed: z.number().int().min(0).default(0),
    })
    .strict(),
]);

export const ScorersConfigSchema = z.object({ scorers: z.array(ScorerSchema).min(1) }).strict();
export type ScorerConfig = z.infer<typeof ScorerSchema>;

export function readScorersConfig(path: string): ScorerConfig[] {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, "utf8"));
  } catch (error) {
    throw new KieloError(`cannot read scorer config ${path}: ${(error as Error).message}`);
  }
  const parsed = ScorersConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new KieloError(`${path} (field ${issue.path.join(".") || "(top)"}): ${issue.message}`, {
      hint: "scorers: a list of {name, type: vader | classifier | embedding | judge, …}; see docs/text-metrics.md",
    });
  }
  const names = new Set<string>();
  for (const scorer of parsed.data.scorers) {
    if (names.has(scorer.name)) throw new KieloError(`${path}: two scorers are named ${scorer.name}`);
    names.add(scorer.name);
    if (scorer.type === "classifier" || scorer.type === "embedding") scorer.model = resolve(dirname(path), scorer.model);
  }
  return parsed.data.scorers;
}

export function buildScorers(configs: readonly ScorerConfig[], db: Store, options: { python?: string; log?: (line: string) => void } = {}): Scorer[] {
  return configs.map((config) => {
    switch (config.type) {
      case "vader":
        return vaderScorer(config.name);
      case "classifier":
        return classifierScorer({ ...config, python: options.python });
      case "embedding":
        return embeddingScorer({ ...config, python: options.python });
      case "judge":
        return judgeScorer(config, db, options.log);
    }
  });
}
