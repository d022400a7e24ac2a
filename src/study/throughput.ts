/**
 * The training time of a study before it has run: the tokens each unfinished train step will
 * process (its data tokenised with the base model's tokenizer, × epochs) over the throughput of
 * earlier finished trainings of the same base model recorded in kielo.db (their tokens/s). Data
 * that a convert step will produce is converted into a temporary file here; data built by
 * generation (pairs from the model's answers) cannot be known before it runs, and is said so.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { convertFile } from "../data/convert.ts";
import { readRecords } from "../data/records-file.ts";
import { mixCount } from "../mix/mix-selection.ts";
import { openStoreReadOnly } from "../store/db.ts";
import { finishedRunSettings } from "../store/run-queries.ts";
import { loadTokenizer } from "../tokenize/tokenizer-folder.ts";
import { loadRecipe } from "../train/recipe.ts";
import type { Plan, PlanStep } from "./plan.ts";
import type { StepStatus } from "./state.ts";

export interface Throughput {
  runs: number;
  tokensPerS: number;
}

export interface TrainingEstimate {
  /** Seconds per unfinished train step, where both its tokens and its method's throughput are known. */
  seconds: Map<string, number>;
  /** One line per method: where the number comes from, or why it is unknown. */
  notes: string[];
}

/** Mean tokens/s of the finished `method` trainings of `model` in the store (none if the file is absent). */
export function measuredThroughput(dbPath: string, model: string, method: "sft" | "dpo"): Throughput | undefined {
  if (!existsSync(dbPath)) return undefined;
  const db = openStoreReadOnly(dbPath);
  try {
    const rows = finishedRunSettings(db, method);
    const rates: number[] = [];
    for (const row of rows) {
      const config = JSON.parse(row.config_json) as { inputs?: { model?: string } };
      const summary = row.summary_json === null ? {} : (JSON.parse(row.summary_json) as { tokens_per_s?: unknown });
      if (config.inputs?.model === undefined || resolve(config.inputs.model) !== resolve(model)) continue;
      if (typeof summary.tokens_per_s === "number" && summary.tokens_per_s > 0) rates.push(summary.tokens_per_s);
    }
    return rates.length === 0 ? undefined : { runs: rates.length, tokensPerS: rates.reduce((a, b) => a + b, 0) / rates.length };
  } finally {
    db.close();
  }
}

const argAfter = (args: readonly string[], flag: string) => {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
};

export async function estimateTraining(plan: Plan, status: Map<string, StepStatus>, dbPath: string): Promise<TrainingEstimate> {
  const trains = plan.steps.filter((s) => (s.kind === "sft" || s.kind === "dpo") && status.get(s.id) !== "done");
  const out: TrainingEstimate = { seconds: new Map(), notes: [] };
  if (trains.length === 0) return out;
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  let tokenizer: ReturnType<typeof loadTokenizer>["tokenizer"];
  try {
    tokenizer = loadTokenizer(plan.study.model, "model folder").tokenizer;
  } catch (error) {
    // A plan is still worth printing when the model is not on this machine yet.
    return { seconds: new Map(), notes: [`training tokens unknown: ${(error as Error).message}`] };
  }
  const temp = mkdtempSync(join(tmpdir(), "kielo-plan-"));
  // Tokens of one pass over a records file (each sequence cut at max_length), and its row count.
  const counted = new Map<string, { rows: number; tokens: number } | string>();
  const count = async (file: string, maxLength: number): Promise<{ rows: number; tokens: number } | string> => {
    const key = `${file}\0${maxLength}`;
    if (!counted.has(key)) counted.set(key, await countFile(file, maxLength));
    return counted.get(key)!;
  };
  const countFile = async (file: string, maxLength: number): Promise<{ rows: number; tokens: number } | string> => {
    let path = file;
    if (!existsSync(path)) {
      const maker = plan.steps.find((s) => s.args.includes("--out") && argAfter(s.args, "--out") === file);
      if (maker === undefined) return `${file} does not exist`;
      if (maker.kind !== "convert") return `its data comes from ${maker.id}, not built yet`;
      path = join(temp, `${counted.size}.jsonl`);
      const limit = argAfter(maker.args, "--limit");
      await convertFile({ input: maker.args[2]!, format: argAfter(maker.args, "--format")!, lang: argAfter(maker.args, "--lang")!, pairs: maker.args.includes("--pairs"), out: path, force: true, quiet: true, ...(limit ? { limit: Number(limit) } : {}) });
    }
    const texts: string[][] = [];
    for await (const { record } of readRecords(path)) {
      const prompt = (record.kind === "conversation" ? record.messages : record.prompt).map((m) => m.content).join("\n");
      texts.push(record.kind === "conversation" ? [prompt] : [`${prompt}\n${record.chosen}`, `${prompt}\n${record.rejected}`]);
    }
    let tokens = 0;
    for (const encoding of await tokenizer.encodeBatch(texts.flat())) tokens += Math.min(maxLength, encoding.getIds().length);
    return { rows: texts.length, tokens };
  };
  try {
    const tokensOf = async (step: PlanStep): Promise<number | string> => {
      const recipe = await loadRecipe(step.args[2]!, step.args.flatMap((a, i) => (step.args[i - 1] === "--set" ? [a] : [])));
      const files = recipe.data.train === undefined ? [] : Array.isArray(recipe.data.train) ? recipe.data.train : [recipe.data.train];
      let tokens = 0;
      for (const file of files) {
        const mix = step.deps.map((d) => byId.get(d)!).find((d) => d.kind === "mix" && argAfter(d.args, "--out") === file);
        if (mix !== undefined && !existsSync(file)) {
          // The mix: the base file whole and a fraction of the added file's rows.
          const [base, add] = [await count(argAfter(mix.args, "--base")!, recipe.data.max_length), await count(argAfter(mix.args, "--add")!, recipe.data.max_length)];
          if (typeof base === "string") return base;
          if (typeof add === "string") return add;
          tokens += base.tokens + (add.rows === 0 ? 0 : (mixCount(Number(argAfter(mix.args, "--fraction")), add.rows) / add.rows) * add.tokens);
        } else {
          const one = await count(file, recipe.data.max_length);
          if (typeof one === "string") return one;
          tokens += one.tokens;
        }
      }
      return tokens * recipe.training.epochs;
    };
    for (const method of ["sft", "dpo"] as const) {
      const steps = trains.filter((s) => s.kind === method);
      if (steps.length === 0) continue;
      const rate = measuredThroughput(dbPath, plan.study.model, method);
      const source = rate === undefined ? `unknown: no measured ${method} run of ${plan.study.model} yet` : `from ${rate.runs} earlier ${method} run(s) of ${plan.study.model}: ${Math.round(rate.tokensPerS).toLocaleString("en-US")} tok/s`;
      let total = 0;
      const unknown: string[] = [];
      for (const step of steps) {
        const tokens = await tokensOf(step);
        if (typeof tokens === "string") unknown.push(`${step.id} (${tokens})`);
        else {
          total += tokens;
          if (rate !== undefined) out.seconds.set(step.id, tokens / rate.tokensPerS);
        }
      }
      const known = steps.length - unknown.length;
      out.notes.push(`${method}: ${steps.length} step(s) to train, ${Math.round(total).toLocaleString("en-US")} tokens in ${known}; throughput ${source}${unknown.length > 0 ? `; tokens unknown for ${unknown.join(", ")}` : ""}`);
    }
    return out;
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}
