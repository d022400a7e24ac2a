/**
 * `kielo train sft|dpo <recipe>`: compile the recipe's data into a job folder, run the engine on it
 * with live progress, and record the run's metrics in kielo.db.
 */
import { basename, extname, resolve } from "node:path";
import type { Command } from "commander";
import { hintFor, type DoneEvent, type EvalEvent, type StepEvent } from "../../engine/events.ts";
import { ENGINE_DIR, findPython } from "../../engine/python.ts";
import { runEngine } from "../../engine/run.ts";
import { openStore } from "../../store/db.ts";
import { deleteMetricsAfter, finishRun, recordMetric, startOrResumeRun } from "../../store/runs.ts";
import { checkReportTargets, REPORT_TARGETS, reportTargets } from "../../train/report-to.ts";
import type { JobSpec } from "../../train/job.ts";
import { prepareJob } from "../../train/prepare.ts";
import { loadRecipe, trainFiles, type Recipe } from "../../train/recipe.ts";
import { interrupted, KieloError } from "../../util/errors.ts";
import { kieloVersion } from "../../util/version.ts";
import { collect, numberArg } from "../options.ts";
import { formatDuration, formatRate, Progress } from "../../util/progress.ts";

interface TrainOptions {
  out?: string;
  prepareOnly?: boolean;
  gpus: number;
  set: string[];
  python?: string;
  force?: boolean;
  label?: string;
  quiet?: boolean;
  reportTo?: string[];
}

export function registerTrain(program: Command): void {
  const train = program
    .command("train")
    .description("fine-tune a model: supervised (sft) or on preferences (dpo), from a YAML recipe");
  for (const method of ["sft", "dpo"] as const) {
    train
      .command(method)
      .description(
        method === "sft"
          ? "supervised fine-tuning (full, LoRA or QLoRA) on conversations"
          : "direct preference optimisation on preference pairs",
      )
      .argument("<recipe>", "recipe YAML (see recipes/ for presets)")
      .option("--out <dir>", "job folder (default: the recipe's `output`, else runs/<recipe name>)")
      .option("--prepare-only", "write the self-contained job folder and stop; run it with `python -m kielo_engine run <dir>`")
      .option("--set <field=value>", "override a recipe field (repeatable), validated like the file: --set training.lr=1e-4 --set data.train=[a.jsonl,b.jsonl]", collect, [])
      .option("--gpus <n>", "GPUs to train on (more than 1 starts the engine under torchrun with FSDP2)", numberArg("--gpus", { integer: true, min: 1 }), 1)
      .option("--python <path>", "Python interpreter for the engine (default: KIELO_PYTHON, kielo.yaml, .venv, python3)")
      .option("--force", "replace a job folder that holds a different job (its checkpoints are deleted)")
      .option("--label <name>", "label of the run in kielo.db (default: the recipe's label or file name)")
      .option("--quiet", "no progress bar and no live metrics")
      .option("--report-to <targets>", `where the engine also writes the curves, comma-separated: ${REPORT_TARGETS.join(", ")} (default: tensorboard when installed)`, reportTargets)
      .action((recipePath: string, options: TrainOptions) => trainCommand(method, recipePath, options));
  }
}

async function trainCommand(method: "sft" | "dpo", recipePath: string, options: TrainOptions): Promise<void> {
  const gpus = options.gpus;
  const recipe = await loadRecipe(recipePath, options.set);
  if (recipe.method !== method) {
    throw new KieloError(`${recipePath} is a ${recipe.method} recipe; run it with \`kielo train ${recipe.method}\``);
  }
  const name = basename(recipePath, extname(recipePath));
  const jobDir = resolve(options.out ?? recipe.output ?? `runs/${name}`);
  const log = (line: string) => {
    if (!options.quiet) process.stderr.write(`${line}\n`);
  };
  const prepared = await prepareJob({
    recipe,
    recipePath,
    jobDir,
    gpus,
    force: Boolean(options.force),
    kieloVersion: kieloVersion(),
    log,
  });
  log(
    prepared.status === "existing"
      ? `job ${jobDir} exists with the same recipe and data: resuming`
      : `job written to ${jobDir} (${prepared.spec.steps} steps)`,
  );
  if (options.prepareOnly) {
    process.stdout.write(
      `${jobDir}\nRun it on any host with the engine installed:\n  python -m kielo_engine run ${jobDir}\n` +
        `(from a kielo checkout without installing: PYTHONPATH=${ENGINE_DIR} python -m kielo_engine run ${jobDir})\n`,
    );
    return;
  }

  const python = findPython(options.python);
  if (options.reportTo !== undefined) checkReportTargets(python, options.reportTo);
  const db = openStore();
  // The same job folder with the same job is the same training: a resume continues its run.
  const { id: runId, resumed, previous } = startOrResumeRun(db, method, {
    label: options.label ?? recipe.label ?? name,
    config: { recipe, job: jobDir, overrides: options.set, inputs: trainingInputs(recipe, prepared.spec) },
    jobDir,
    resume: prepared.status === "existing",
  });
  const previousSummary = previous?.status === "done" ? previous.summary_json : null;
  const progress = new Progress(`train ${method}`, { unit: "steps", total: prepared.spec.steps, quiet: Boolean(options.quiet) });
  const recordStep = (event: StepEvent | EvalEvent, prefix: string) => {
    for (const [key, value] of Object.entries(event)) {
      if (typeof value === "number" && key !== "step" && key !== "time") recordMetric(db, runId, `${prefix}${key}`, value, event.step);
    }
  };
  const result = await runEngine({
    python,
    args: ["run", jobDir],
    gpus,
    env: options.reportTo === undefined ? {} : { KIELO_REPORT_TO: options.reportTo.join(",") },
    onEvent: (event) => {
      if (event.type === "step") {
        recordStep(event, "");
        progress.set(event.step, stepLine(event));
      } else if (event.type === "eval") {
        recordStep(event, "eval/");
        progress.log(evalLine(event));
      } else if (event.type === "start") {
        // The steps after the last checkpoint run again: their earlier values are replaced.
        if (resumed) deleteMetricsAfter(db, runId, event.resumed_from_step);
        if (event.resumed_from_step > 0) progress.set(event.resumed_from_step);
      }
    },
  });

  if (result.done) {
    progress.done();
    const summary = summarise(result.done);
    finishRun(db, runId, "done", keepKnown(previousSummary, result.done));
    process.stdout.write(`${summary}\n`);
    return;
  }
  const error = result.error;
  finishRun(db, runId, result.interrupted || error?.kind === "interrupted" ? "interrupted" : "failed", error ?? null);
  if (result.stoppedBy !== undefined) {
    throw interrupted(result.stoppedBy, `training (${error?.message ?? "the engine had not started its first step"})`, "Run the same command again to resume from the last checkpoint.");
  }
  if (error) throw new KieloError(`training stopped: ${error.message}`, hintOption(hintFor(error)));
  const tail = result.stderrTail.slice(-5).join("\n");
  throw new KieloError(
    `the engine exited with ${result.signal ?? `code ${result.exitCode}`} before finishing${tail ? `:\n${tail}` : ""}`,
    { hint: `Its events are in ${jobDir}/events.jsonl; run the same command again to resume from the last checkpoint.` },
  );
}

/** What the training read, with the hashes the job folder recorded (for `kielo runs show`). */
function trainingInputs(recipe: Recipe, spec: JobSpec): Record<string, unknown> {
  return {
    model: spec.model.path,
    recipe: spec.provenance.recipe,
    train: trainFiles(recipe),
    train_sha256: spec.provenance.train_sha256,
    eval: recipe.data.eval ?? null,
    eval_sha256: spec.provenance.eval_sha256,
  };
}

/** The progress line's detail: the step's loss, learning rate, gradient norm and throughput. */
function stepLine(event: StepEvent): string {
  const parts = [`loss ${event.loss === null ? "NaN" : event.loss.toFixed(4)}`];
  if (event.lr !== null) parts.push(`lr ${event.lr.toExponential(2)}`);
  if (event.grad_norm !== null) parts.push(`grad ${event.grad_norm.toFixed(3)}`);
  if (event.tokens_per_s !== null) parts.push(`${formatRate(event.tokens_per_s)} tok/s`);
  if (typeof event.accuracy === "number") parts.push(`acc ${event.accuracy.toFixed(3)}`);
  return parts.join(", ");
}

function evalLine(event: EvalEvent): string {
  const parts = [`eval at step ${event.step}: loss ${event.loss === null ? "NaN" : event.loss.toFixed(4)}`];
  if (typeof event.accuracy === "number") parts.push(`accuracy ${event.accuracy.toFixed(3)}`);
  if (typeof event.margins === "number") parts.push(`margins ${event.margins.toFixed(3)}`);
  return parts.join(", ");
}

/**
 * The summary of a resumed run: a job that had already finished reports no loss of its own when
 * run again, so the values the earlier attempt recorded are kept where the new one has none.
 */
function keepKnown(previous: string | null, done: DoneEvent): Record<string, unknown> {
  const before = previous === null ? {} : (JSON.parse(previous) as Record<string, unknown>);
  const merged: Record<string, unknown> = { ...before };
  for (const [key, value] of Object.entries(done)) if (value !== null && value !== undefined) merged[key] = value;
  return merged;
}

function hintOption(hint: string | undefined): { hint?: string } {
  return hint === undefined ? {} : { hint };
}

function summarise(done: DoneEvent): string {
  const parts = [`done: ${done.step ?? "?"} steps`];
  if (typeof done.loss === "number") parts.push(`final loss ${done.loss.toFixed(4)}`);
  if (typeof done.eval_loss === "number") parts.push(`eval loss ${done.eval_loss.toFixed(4)}`);
  if (typeof done.tokens_per_s === "number") parts.push(`${formatRate(done.tokens_per_s)} real tokens/s`);
  if (typeof done.peak_memory_bytes === "number") parts.push(`peak memory ${(done.peak_memory_bytes / 2 ** 30).toFixed(2)} GiB`);
  if (typeof done.seconds === "number") parts.push(formatDuration(done.seconds));
  if (done.output) parts.push(`model in ${done.output}`);
  return parts.join(", ");
}

