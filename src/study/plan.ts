/**
 * A study as a DAG of steps. Each step is one `kielo` command (data convert, mix, train, generate,
 * eval …) with its folder under the study's work dir, the steps it needs, and what goes into its
 * content hash (`hash.ts`). Nothing runs here; `run.ts` runs the steps that are not done.
 */
import { join, resolve } from "node:path";
import { loadRecipe, type Recipe } from "../train/recipe.ts";
import { KieloError } from "../util/errors.ts";
import type { LoadedStudy } from "./load.ts";
import { mixName, sftModels } from "./load.ts";
import type { MetricName, Source, Study, TranslatedSource } from "./schema.ts";
import { translateSteps, type DataFile } from "./translate-steps.ts";

export type StepKind = "convert" | "translate" | "clean" | "pairs-answers" | "pairs" | "mix" | "sft" | "select" | "dpo" | "generate" | "eval-ifeval" | "eval-text" | "eval-loss";

export interface PlanStep {
  id: string;
  kind: StepKind;
  /** kielo's arguments (after `kielo`). */
  args: string[];
  deps: string[];
  /** Files and folders whose content is part of the step's hash. */
  inputs: string[];
  gpus: number;
  /** The step's folder (wiped when its hash changes). */
  dir: string;
  /** The kielo.db run label the command records, for linking results to runs. */
  label?: string;
  /** The model a train/generate/eval step belongs to, for the grid and the report. */
  model?: string;
  /** The grid column: train, ifeval-en, share … */
  column?: string;
}

export interface ModelInfo {
  id: string;
  kind: "base" | "sft" | "dpo";
  /** The folder generate loads as --model, and the adapter on top (LoRA), when known at plan time. */
  modelDir: string;
  adapterDir?: string;
  /** The step that produces it (none for the base model). */
  trainStep?: string;
  mix?: string;
  fraction?: number;
  variant?: string;
  dpoData?: string;
  beta?: number;
}

export interface Plan {
  study: Study;
  file: string;
  workDir: string;
  steps: PlanStep[];
  models: ModelInfo[];
  /** Eval columns in report order (ifeval-<lang>…, share, heldout). */
  evalColumns: string[];
}

export function defaultWorkDir(study: Study): string {
  return resolve(study.work_dir ?? join("study-runs", study.name));
}

export async function buildPlan(loaded: LoadedStudy, workDirOverride?: string): Promise<Plan> {
  const { study } = loaded;
  const workDir = workDirOverride === undefined ? defaultWorkDir(study) : resolve(workDirOverride);
  const steps: PlanStep[] = [];
  const dirOf = (id: string) => join(workDir, "steps", id);
  const label = (id: string) => `study:${study.name}/${id}`;
  const add = (step: Omit<PlanStep, "dir">): PlanStep => {
    const full = { ...step, dir: dirOf(step.id) };
    steps.push(full);
    return full;
  };
  const recipeOf = async (path: string, sets: Record<string, unknown>, keyPath: string[]): Promise<Recipe> => {
    try {
      return await loadRecipe(path, Object.entries(sets).map(([key, value]) => `${key}=${JSON.stringify(value)}`));
    } catch (error) {
      // A bad `set` fails here, before anything runs, naming the study key that set it.
      if (error instanceof KieloError) throw new KieloError(`${loaded.at(keyPath)}: ${keyPath.join(".")}: ${error.message}`, error.hint === undefined ? {} : { hint: error.hint });
      throw error;
    }
  };
  const sftRecipe = await recipeOf(study.sft.recipe, study.sft.set, ["sft", "set"]);
  const template = study.eval.generation.template ?? sftRecipe.data.template;
  const gen = study.eval.generation;
  const generateArgs = (model: { modelDir: string; adapterDir?: string }, prompts: string, out: string, id: string): string[] => [
    "generate", "--model", model.modelDir, ...(model.adapterDir ? ["--adapter", model.adapterDir] : []),
    "--prompts", prompts, "--out", out, "--max-new-tokens", String(gen.max_new_tokens), "--temperature", String(gen.temperature),
    "--top-p", String(gen.top_p), "--seed", String(gen.seed), ...(template ? ["--template", template] : []),
    ...(gen.batch_size ? ["--batch-size", String(gen.batch_size)] : []), ...(study.resources.device ? ["--device", study.resources.device] : []),
    "--label", label(id), "--quiet",
  ];

  // Data: each source becomes a records file (converted, translated, or built as pairs), keyed by
  // group and language; translations after the sources they translate.
  const records = new Map<string, DataFile>();
  const base = { modelDir: study.model };
  for (const [group, sources] of [["instructions", study.data.instructions], ["preferences", study.data.preferences]] as const) {
    const entries = Object.entries(sources);
    for (const [lang, source] of entries) if (typeof source === "string" || !("translate" in source)) records.set(`${group}/${lang}`, dataStep(group, lang, source));
    for (const [lang, source] of entries) {
      if (typeof source === "string" || !("translate" in source)) continue;
      const from = source.translate.from;
      const origin = sources[from] === undefined ? { file: from, lang: source.translate.source_lang ?? "en" } : { ...records.get(`${group}/${from}`)!, lang: from };
      records.set(`${group}/${lang}`, translateSteps(group, lang, source, origin, dirOf, add, study.resources.gpus.generate));
    }
  }
  function dataStep(group: string, lang: string, source: Exclude<Source, TranslatedSource>): DataFile {
    if (typeof source === "string") return { file: source };
    if ("file" in source) {
      const id = `data/convert-${group}-${lang}`;
      const out = join(dirOf(id), "records.jsonl");
      add({ id, kind: "convert", deps: [], inputs: [source.file], gpus: 0, args: [
        "data", "convert", source.file, "--format", source.format, "--lang", source.lang ?? lang, ...(source.limit ? ["--limit", String(source.limit)] : []),
        ...(source.pairs ? ["--pairs"] : []), "--out", out, "--force", "--quiet",
      ] });
      return { file: out, step: id };
    }
    const answersId = `data/pairs-${lang}-answers`;
    const answers = join(dirOf(answersId), "answers.jsonl");
    add({ id: answersId, kind: "pairs-answers", deps: [], inputs: [source.pairs_from, study.model], gpus: study.resources.gpus.generate, label: label(answersId), args: generateArgs(base, source.pairs_from, answers, answersId) });
    const id = `data/pairs-${lang}`;
    const out = join(dirOf(id), "pairs.jsonl");
    add({ id, kind: "pairs", deps: [answersId], inputs: [source.pairs_from], gpus: 0, args: ["study", "pairs", "--records", source.pairs_from, "--answers", answers, "--lang", lang, "--out", out] });
    return { file: out, step: id };
  }

  // Mixes.
  const mixFiles = new Map<string, { file: string; step: string }>();
  for (const fraction of study.mixes.fractions) {
    const name = mixName(study, fraction);
    const id = `mix/${name}`;
    const baseData = records.get(`instructions/${study.mixes.base}`)!;
    const addData = records.get(`instructions/${study.mixes.add}`)!;
    const out = join(dirOf(id), `${name}.jsonl`);
    add({ id, kind: "mix", deps: [baseData.step, addData.step].filter((s) => s !== undefined), inputs: [baseData.file, addData.file], gpus: 0, label: out, args: [
      "mix", "--base", baseData.file, "--add", addData.file, "--fraction", String(fraction), "--seed", String(study.mixes.seed), "--out", out, "--force", "--quiet",
    ] });
    mixFiles.set(name, { file: out, step: id });
  }

  const models: ModelInfo[] = [];
  // Evaluation of every model: IFEval per language, target-language share and text metrics.
  const evalColumns: string[] = [];
  for (const lang of Object.keys(study.eval.ifeval)) evalColumns.push(`ifeval-${lang}`);
  if (study.eval.share) evalColumns.push("share");
  if (study.eval.heldout) evalColumns.push("heldout");
  const evaluate = (model: ModelInfo) => {
    const deps = model.trainStep ? [model.trainStep] : [];
    if (study.eval.heldout) {
      // Every model on the same tokens: the replies of the held-out records (policy assistant),
      // rendered and cut as the SFT recipe does, whatever policy a variant trained with.
      const evalId = `eval/${model.id}/heldout`;
      add({ id: evalId, kind: "eval-loss", model: model.id, column: "heldout", deps, inputs: [study.eval.heldout, ...(model.trainStep ? [] : [model.modelDir])], gpus: study.resources.gpus.generate, label: label(evalId), args: [
        "eval", "loss", "--model", model.modelDir, ...(model.adapterDir ? ["--adapter", model.adapterDir] : []), "--data", study.eval.heldout,
        "--policy", "assistant", "--max-length", String(sftRecipe.data.max_length), ...(sftRecipe.data.template ? ["--template", sftRecipe.data.template] : []),
        ...(study.resources.device ? ["--device", study.resources.device] : []), "--json", join(dirOf(evalId), "loss.json"), "--label", label(evalId), "--quiet",
      ] });
    }
    for (const [lang, prompts] of Object.entries(study.eval.ifeval)) {
      const genId = `gen/${model.id}/ifeval-${lang}`;
      const answers = join(dirOf(genId), "answers.jsonl");
      add({ id: genId, kind: "generate", model: model.id, column: `gen-ifeval-${lang}`, deps, inputs: [prompts, ...(model.trainStep ? [] : [model.modelDir])], gpus: study.resources.gpus.generate, label: label(genId), args: generateArgs(model, prompts, answers, genId) });
      const evalId = `eval/${model.id}/ifeval-${lang}`;
      add({ id: evalId, kind: "eval-ifeval", model: model.id, column: `ifeval-${lang}`, deps: [genId], inputs: [prompts], gpus: 0, label: label(evalId), args: [
        "eval", "ifeval", "--responses", answers, "--prompts", prompts, ...(lang === "en" ? [] : ["--lang", lang]), "--json", join(dirOf(evalId), "ifeval.json"), "--label", label(evalId), "--quiet",
      ] });
    }
    if (study.eval.share) {
      const genId = `gen/${model.id}/share`;
      const answers = join(dirOf(genId), "answers.jsonl");
      add({ id: genId, kind: "generate", model: model.id, column: "gen-share", deps, inputs: [study.eval.share.prompts, ...(model.trainStep ? [] : [model.modelDir])], gpus: study.resources.gpus.generate, label: label(genId), args: generateArgs(model, study.eval.share.prompts, answers, genId) });
      const evalId = `eval/${model.id}/text`;
      add({ id: evalId, kind: "eval-text", model: model.id, column: "share", deps: [genId], inputs: [], gpus: 0, label: label(evalId), args: [
        "eval", "text", answers, "--lang", study.target, "--json", join(dirOf(evalId), "text.json"), "--label", label(evalId), "--quiet",
      ] });
    }
  };

  // SFT: each variant on each of its mixes; the held-out records are also the run's eval set (its curve).
  const addModel = (model: ModelInfo) => {
    models.push(model);
    evaluate(model);
  };
  if (study.eval.base) addModel({ id: "base", kind: "base", modelDir: study.model });
  const trained = (jobDir: string, recipe: Recipe) =>
    recipe.adapter.type === "none" && recipe.init_adapter === undefined ? { modelDir: join(jobDir, "model") } : { modelDir: study.model, adapterDir: join(jobDir, "model") };
  for (const { mix, fraction, variant } of sftModels(study)) {
    const spec = study.sft.variants[variant]!;
    const modelId = `sft-${mix}-${variant}`;
    const id = `train/${modelId}`;
    const sets: Record<string, unknown> = { model: study.model, "data.train": mixFiles.get(mix)!.file };
    if (study.eval.heldout !== undefined) Object.assign(sets, { "data.eval": study.eval.heldout, "data.eval_fraction": 0 });
    if (spec.policy !== undefined) sets["data.policy"] = spec.policy;
    if (spec.neftune_alpha !== undefined) sets["training.neftune_alpha"] = spec.neftune_alpha;
    Object.assign(sets, study.sft.set, spec.set);
    const recipe = await recipeOf(study.sft.recipe, sets, Object.keys(spec.set).length > 0 ? ["sft", "variants", variant, "set"] : ["sft", "set"]);
    const jobDir = join(dirOf(id), "job");
    add({ id, kind: "sft", model: modelId, column: "train", deps: [mixFiles.get(mix)!.step], inputs: [study.sft.recipe, study.model, ...(study.eval.heldout ? [study.eval.heldout] : [])],
      gpus: study.resources.gpus.train, label: label(id), args: trainArgs("sft", study.sft.recipe, sets, jobDir, label(id), study.resources.gpus.train) });
    addModel({ id: modelId, kind: "sft", ...trained(jobDir, recipe), trainStep: id, mix, fraction, variant });
  }

  // DPO from the chosen SFT model: each data choice × β.
  if (study.dpo !== undefined) {
    const dpo = study.dpo;
    const from = dpo.from;
    const candidates = models.filter((m) => m.kind === "sft" && ("sft" in from ? `${m.mix}/${m.variant}` === from.sft : true));
    const selectId = "select/dpo-init";
    const selectDir = dirOf(selectId);
    // A named SFT model needs no metric (the study may evaluate nothing): select only links it,
    // once it is trained.
    const metric: MetricName | "named" = "best" in from ? from.best : "named";
    const rankedBy = (m: ModelInfo) => (metric === "named" ? m.trainStep! : metricStep(study, m, metric));
    add({ id: selectId, kind: "select", deps: candidates.map(rankedBy), inputs: [], gpus: 0, args: [
      "study", "select", "--metric", metric, "--out", selectDir,
      ...candidates.flatMap((m) => ["--candidate", `${m.id}=${m.adapterDir ?? m.modelDir}=${dirOf(rankedBy(m))}`]),
    ] });
    const chosen = join(selectDir, "model");
    for (const [choice, langs] of Object.entries(dpo.data)) {
      for (const beta of dpo.beta) {
        const modelId = `dpo-${choice}-b${beta}`;
        const id = `train/${modelId}`;
        const pairs = langs.map((lang) => records.get(`preferences/${lang}`)!);
        const fromAdapter = sftRecipe.adapter.type !== "none";
        const sets: Record<string, unknown> = fromAdapter ? { model: study.model, init_adapter: chosen } : { model: chosen };
        Object.assign(sets, { "data.train": pairs.map((p) => p.file), "dpo.beta": beta }, dpo.set);
        const recipe = await recipeOf(dpo.recipe, { ...sets, ...(fromAdapter ? { init_adapter: study.model } : { model: study.model }) }, ["dpo", "set"]);
        const jobDir = join(dirOf(id), "job");
        add({ id, kind: "dpo", model: modelId, column: "train", deps: [selectId, ...pairs.map((p) => p.step).filter((s) => s !== undefined)], inputs: [dpo.recipe, study.model, ...pairs.map((p) => p.file)],
          gpus: study.resources.gpus.train, label: label(id), args: trainArgs("dpo", dpo.recipe, sets, jobDir, label(id), study.resources.gpus.train) });
        const out = recipe.adapter.type === "none" && !fromAdapter ? { modelDir: join(jobDir, "model") } : { modelDir: study.model, adapterDir: join(jobDir, "model") };
        addModel({ id: modelId, kind: "dpo", ...out, trainStep: id, dpoData: choice, beta });
      }
    }
  }

  checkDag(steps);
  return { study, file: loaded.file, workDir, steps, models, evalColumns };
}

/** The step whose result ranks a model by a metric. */
export function metricStep(study: Study, model: ModelInfo, metric: MetricName): string {
  switch (metric) {
    case "ifeval-en":
      return `eval/${model.id}/ifeval-en`;
    case "ifeval-target":
      return `eval/${model.id}/ifeval-${study.target}`;
    case "share":
      return `eval/${model.id}/text`;
    case "heldout-loss":
      return `eval/${model.id}/heldout`;
  }
}

function trainArgs(method: "sft" | "dpo", recipe: string, sets: Record<string, unknown>, jobDir: string, runLabel: string, gpus: number): string[] {
  return [
    "train", method, recipe, ...Object.entries(sets).flatMap(([key, value]) => ["--set", `${key}=${JSON.stringify(value)}`]),
    "--out", jobDir, "--label", runLabel, "--gpus", String(Math.max(1, gpus)), "--quiet",
  ];
}

function checkDag(steps: PlanStep[]): void {
  const ids = new Set<string>();
  for (const step of steps) {
    if (ids.has(step.id)) throw new Error(`study plan: duplicate step ${step.id}`);
    for (const dep of step.deps) if (!ids.has(dep)) throw new Error(`study plan: ${step.id} depends on ${dep}, planned later or not at all`);
    ids.add(step.id);
  }
}
