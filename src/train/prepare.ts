/**
 * Preparing a job folder from a recipe: split off evaluation data, compile train and eval data with
 * the model's tokenizer, write the schedule and job.json (docs/formats.md §3).
 *
 * A job folder is identified by what went into it (the recipe's settings, the data's sha256, the
 * number of GPUs). Preparing the same job again finds it complete and leaves it alone, so the
 * engine resumes from its last checkpoint; a different job in the same folder is refused unless
 * `force`.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { compileFolder, hashFile } from "../compile/compile-folder.ts";
import { openCompiled, sequenceLengths } from "../compile/read-compiled.ts";
import { readRecords } from "../data/records-file.ts";
import { loadTokenizer } from "../tokenize/tokenizer-folder.ts";
import { writeDirAtomic, writeFileAtomic } from "../util/atomic.ts";
import { KieloError } from "../util/errors.ts";
import { seededPermutation } from "../util/random.ts";
import { batchLayout, buildJobSpec, readAdapterConfig, type JobSpec } from "./job.ts";
import type { Recipe } from "./recipe.ts";
import { buildSchedule, encodeSchedule } from "./schedule.ts";

export interface PrepareOptions {
  recipe: Recipe;
  recipePath: string;
  jobDir: string;
  gpus: number;
  force: boolean;
  kieloVersion: string;
  log?: (line: string) => void;
}

export interface PreparedJob {
  jobDir: string;
  spec: JobSpec;
  /** `created`, or `existing` when the folder already held this job (the engine resumes it). */
  status: "created" | "existing";
}

/** Everything that decides a job's content; equal identities mean the same job. */
function jobIdentity(options: PrepareOptions, trainSha: string, evalSha: string | null): string {
  const { recipe } = options;
  const settings = { ...recipe, output: undefined, label: undefined };
  return createHash("sha256")
    .update(JSON.stringify({ settings, trainSha, evalSha, gpus: options.gpus }))
    .digest("hex");
}

export async function prepareJob(options: PrepareOptions): Promise<PreparedJob> {
  const { recipe } = options;
  const jobDir = resolve(options.jobDir);
  const log = options.log ?? (() => {});
  const train = await hashFile(recipe.data.train);
  const evalHash = recipe.data.eval ? await hashFile(recipe.data.eval) : null;
  const identity = jobIdentity(options, train.sha256, evalHash?.sha256 ?? null);

  const specPath = join(jobDir, "job.json");
  if (existsSync(specPath)) {
    const existing = JSON.parse(readFileSync(specPath, "utf8")) as JobSpec & { identity?: string };
    if (existing.identity === identity && !options.force) return { jobDir, spec: existing, status: "existing" };
    if (!options.force) {
      throw new KieloError(`${jobDir} already holds a different job (the recipe, its data or the GPU count changed)`, {
        hint: "Pass --force to start over in that folder (its checkpoints are deleted), or choose another --out.",
      });
    }
  } else if (existsSync(jobDir) && !options.force) {
    throw new KieloError(`${jobDir} exists and is not a kielo job folder`, { hint: "Choose another --out, or pass --force." });
  }

  const { microBatchesPerStep, globalBatch } = batchLayout(recipe, options.gpus);
  const initAdapter = recipe.init_adapter ? readAdapterConfig(recipe.init_adapter) : undefined;
  let spec: JobSpec | undefined;
  await writeDirAtomic(jobDir, async (dir) => {
    const sources = await evaluationSplit(recipe, join(dir, "data", "source"));
    const tokenizer = loadTokenizer(recipe.model);
    const compileOptions = {
      template: recipe.data.template,
      policy: recipe.data.policy,
      maxLength: recipe.data.max_length,
      truncation: recipe.data.truncation ?? "keep-start",
      pack: recipe.data.packing === false ? null : recipe.data.packing,
      force: true,
    } as const;
    log(`compiling ${sources.train}`);
    const trainResult = await compileFolder(sources.train, tokenizer, join(dir, "data", "train"), compileOptions);
    const expectedKind = recipe.method === "dpo" ? "preference" : "sft";
    if (trainResult.manifest.kind !== expectedKind) {
      throw new KieloError(
        `${recipe.data.train} holds ${trainResult.manifest.kind === "sft" ? "conversations" : "preference pairs"}, ` +
          `but a ${recipe.method.toUpperCase()} recipe needs ${expectedKind === "sft" ? "conversations" : "preference pairs"}`,
      );
    }
    if (sources.eval) {
      log(`compiling ${sources.eval}`);
      await compileFolder(sources.eval, tokenizer, join(dir, "data", "eval"), compileOptions);
    }
    const compiled = openCompiled(join(dir, "data", "train"));
    const lengths = sequenceLengths(compiled);
    if (lengths.length === 0) throw new KieloError(`${recipe.data.train}: no rows left to train on after compiling`);
    const schedule = buildSchedule({
      sequences: lengths.length,
      lengths,
      epochs: recipe.training.epochs,
      microBatchSize: recipe.training.micro_batch_size,
      microBatchesPerStep,
      ...(recipe.training.micro_batch_tokens !== undefined
        ? { microBatchTokens: { budget: recipe.training.micro_batch_tokens, globalBatch, gpus: options.gpus } }
        : {}),
      seed: recipe.training.seed,
      groupByLength: recipe.data.group_by_length,
      permutation: seededPermutation,
    });
    await writeFile(join(dir, "schedule.bin"), encodeSchedule(schedule));
    spec = buildJobSpec({
      recipe,
      recipePath: resolve(options.recipePath),
      jobDir,
      steps: schedule.steps.length,
      microBatchesPerStep,
      hasEval: sources.eval !== null,
      trainSha256: train.sha256,
      evalSha256: evalHash?.sha256 ?? null,
      kieloVersion: options.kieloVersion,
      ...(initAdapter ? { initAdapter } : {}),
    });
    await writeFile(join(dir, "job.json"), `${JSON.stringify({ ...spec, identity }, null, 2)}\n`);
  });
  return { jobDir, spec: spec!, status: "created" };
}

/**
 * Train and eval record files. With `eval_fraction`, a seeded share of the training records is held
 * out (the same seed holds out the same rows) and both parts are written into the job folder.
 */
async function evaluationSplit(recipe: Recipe, dir: string): Promise<{ train: string; eval: string | null }> {
  const fraction = recipe.data.eval_fraction;
  if (recipe.data.eval || fraction === 0) return { train: recipe.data.train, eval: recipe.data.eval ?? null };
  const lines: string[] = [];
  for await (const { record } of readRecords(recipe.data.train)) lines.push(JSON.stringify(record));
  const held = Math.round(lines.length * fraction);
  if (held === 0 || held === lines.length) {
    throw new KieloError(
      `data.eval_fraction ${fraction} of ${lines.length} records holds out ${held}: choose a fraction that leaves rows on both sides`,
    );
  }
  const evalRows = new Set(seededPermutation(lines.length, recipe.training.seed).slice(0, held));
  await mkdir(dir, { recursive: true });
  const train = join(dir, "train.jsonl");
  const evalPath = join(dir, "eval.jsonl");
  await writeFileAtomic(train, lines.filter((_, i) => !evalRows.has(i)).map((l) => `${l}\n`).join(""));
  await writeFileAtomic(evalPath, lines.filter((_, i) => evalRows.has(i)).map((l) => `${l}\n`).join(""));
  return { train, eval: evalPath };
}
