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
import { existsSync, readFileSync, statSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { compileFolder, hashFile, hashFiles } from "../compile/compile-folder.ts";
import { openCompiled, sequenceLengths } from "../compile/read-compiled.ts";
import { readRecords, type RecordLine } from "../data/records-file.ts";
import { loadTokenizer } from "../tokenize/tokenizer-folder.ts";
import { writeDirAtomic } from "../util/atomic.ts";
import { KieloError } from "../util/errors.ts";
import { seededPermutation } from "../util/random.ts";
import { batchLayout, buildJobSpec, readAdapterConfig, type JobSpec } from "./job.ts";
import { trainFiles, type Recipe } from "./recipe.ts";
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
  checkRecipeInputs(recipe, options.recipePath);
  const train = await hashFiles(trainFiles(recipe));
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
    const sources = await evaluationSplit(recipe);
    const tokenizer = loadTokenizer(recipe.model);
    const compileOptions = {
      template: recipe.data.template,
      policy: recipe.data.policy,
      maxLength: recipe.data.max_length,
      truncation: recipe.data.truncation ?? "keep-start",
      pack: recipe.data.packing === false ? null : recipe.data.packing,
      force: true,
    } as const;
    const several = trainFiles(recipe).length > 1;
    log(`compiling ${sources.train.label}`);
    const trainResult = await compileFolder(sources.train.label, tokenizer, join(dir, "data", "train"), {
      ...compileOptions,
      records: sources.train.records,
      sourceSha256: train.sha256,
      fileInRows: several,
    });
    const expectedKind = recipe.method === "dpo" ? "preference" : "sft";
    if (trainResult.manifest.kind !== expectedKind) {
      throw new KieloError(
        `${sources.train.label} holds ${trainResult.manifest.kind === "sft" ? "conversations" : "preference pairs"}, ` +
          `but a ${recipe.method.toUpperCase()} recipe needs ${expectedKind === "sft" ? "conversations" : "preference pairs"}`,
      );
    }
    if (sources.eval) {
      log(`compiling ${sources.eval.label}`);
      await compileFolder(sources.eval.label, tokenizer, join(dir, "data", "eval"), {
        ...compileOptions,
        records: sources.eval.records,
        sourceSha256: evalHash?.sha256 ?? train.sha256,
        fileInRows: several && recipe.data.eval === undefined,
      });
    }
    const compiled = openCompiled(join(dir, "data", "train"));
    const lengths = sequenceLengths(compiled);
    if (lengths.length === 0) throw new KieloError(`${sources.train.label}: no rows left to train on after compiling`);
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

/** Records to compile: read lazily, each naming its own file and line (errors point at the user's files). */
interface RecordSource {
  label: string;
  records: () => AsyncIterable<RecordLine>;
}

async function* readAll(files: readonly string[], keep?: (index: number) => boolean): AsyncGenerator<RecordLine> {
  let index = 0;
  for (const file of files) {
    for await (const entry of readRecords(file)) {
      if (keep === undefined || keep(index)) yield entry;
      index += 1;
    }
  }
}

/**
 * Train and eval records. With `eval_fraction`, a seeded share of the training records is held out
 * (the same seed holds out the same rows); both parts are read from the recipe's own files, so an
 * error in a record names its file and line.
 */
async function evaluationSplit(recipe: Recipe): Promise<{ train: RecordSource; eval: RecordSource | null }> {
  const files = trainFiles(recipe);
  const label = files.join(" + ");
  const fraction = recipe.data.eval_fraction;
  const evalFile = recipe.data.eval;
  if (evalFile || fraction === 0) {
    return {
      train: { label, records: () => readAll(files) },
      eval: evalFile ? { label: evalFile, records: () => readAll([evalFile]) } : null,
    };
  }
  let count = 0;
  for await (const _ of readAll(files)) count += 1;
  const held = Math.round(count * fraction);
  if (held === 0 || held === count) {
    throw new KieloError(
      `data.eval_fraction ${fraction} of ${count} records holds out ${held}: choose a fraction that leaves rows on both sides`,
    );
  }
  const evalRows = new Set(seededPermutation(count, recipe.training.seed).slice(0, held));
  return {
    train: { label, records: () => readAll(files, (i) => !evalRows.has(i)) },
    eval: { label: `${label} (held out: data.eval_fraction ${fraction})`, records: () => readAll(files, (i) => evalRows.has(i)) },
  };
}

/**
 * The files a recipe names exist and are what they should be, checked before anything is compiled,
 * with the recipe field in the message (a missing model is not "a tokenizer folder").
 */
function checkRecipeInputs(recipe: Recipe, recipePath: string): void {
  const problem = (field: string, path: string, what: string, hint: string): KieloError =>
    new KieloError(`${recipePath}: ${field}: ${path} ${what}`, { hint });
  const kind = (path: string): "missing" | "file" | "folder" => (!existsSync(path) ? "missing" : statSync(path).isDirectory() ? "folder" : "file");
  const modelHint = "`model:` is a local Hugging Face model folder (config.json, *.safetensors, tokenizer.json); paths are relative to the recipe file.";
  const model = kind(recipe.model);
  if (model === "missing") throw problem("model", recipe.model, "does not exist", modelHint);
  if (model === "file") throw problem("model", recipe.model, "is a file, not a model folder", modelHint);
  if (!existsSync(join(recipe.model, "config.json"))) throw problem("model", recipe.model, "holds no config.json: it is not a Hugging Face model folder", modelHint);
  const dataHint = "Records are JSONL files written by `kielo data convert`; paths are relative to the recipe file.";
  const trainField = typeof recipe.data.train === "string" ? () => "data.train" : (i: number) => `data.train[${i}]`;
  trainFiles(recipe).forEach((file, i) => {
    const k = kind(file);
    if (k !== "file") throw problem(trainField(i), file, k === "missing" ? "does not exist" : "is a folder, not a records file", dataHint);
  });
  if (recipe.data.eval !== undefined && kind(recipe.data.eval) !== "file") {
    throw problem("data.eval", recipe.data.eval, kind(recipe.data.eval) === "missing" ? "does not exist" : "is a folder, not a records file", dataHint);
  }
  if (recipe.init_adapter !== undefined && kind(recipe.init_adapter) !== "folder") {
    throw problem("init_adapter", recipe.init_adapter, "does not exist", "Point init_adapter at the model/ folder of a LoRA or QLoRA run.");
  }
}
