/**
 * `kielo eval loss`: the held-out loss of a model (or a base model with an adapter) on records, the
 * number a training run reports as its eval loss — here for any model, the base and DPO models too,
 * so that a study compares every model on one column.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { Option, type Command } from "commander";
import { TEMPLATE_SPEC_HELP } from "../../chat/chat-template.ts";
import { compileFolder, MAX_LENGTH } from "../../compile/compile-folder.ts";
import { POLICIES, type Policy } from "../../compile/manifest.ts";
import { TRUNCATIONS, type Truncation } from "../../compile/truncate.ts";
import { engineHeldoutLoss } from "../../engine/heldout.ts";
import { findPython } from "../../engine/python.ts";
import { defaultStorePath, openStore } from "../../store/db.ts";
import { finishRun, startRun } from "../../store/runs.ts";
import { loadTokenizer } from "../../tokenize/tokenizer-folder.ts";
import { makeTempDir, writeFileAtomic } from "../../util/atomic.ts";
import { KieloError } from "../../util/errors.ts";
import { Progress } from "../../util/progress.ts";
import { numberArg } from "../options.ts";

/** The kind of run `kielo eval loss` records; its summary's `eval_loss` is what a study reads. */
export const EVAL_LOSS_RUN_KIND = "eval-loss";

interface EvalLossOptions {
  model: string;
  adapter?: string;
  data: string;
  template?: string;
  policy: Policy;
  maxLength: number;
  truncation: Truncation;
  batchSize: number;
  dtype?: "bf16" | "fp16" | "fp32";
  device?: string;
  python?: string;
  json?: string;
  label?: string;
  db?: string;
  store: boolean;
  quiet?: boolean;
}

export function registerEvalLoss(evalCommand: Command): void {
  evalCommand
    .command("loss")
    .description("held-out loss of a model (or model + adapter) on records: mean negative log-likelihood of the trained tokens, as a training's eval loss")
    .requiredOption("--model <dir>", "model folder (Hugging Face format: config.json, *.safetensors, tokenizer.json)")
    .option("--adapter <dir>", "LoRA/QLoRA adapter folder to apply (e.g. runs/<job>/model)")
    .requiredOption("--data <file>", "held-out records (kielo records JSONL, conversations)")
    .option("--template <spec>", `chat template: ${TEMPLATE_SPEC_HELP} (default: a record's meta.template, else the model's own)`)
    .addOption(new Option("--policy <policy>", "tokens that count: assistant = the replies (default), all = every token but the first, last-assistant = the final reply").choices(POLICIES).default("assistant"))
    .option("--max-length <n>", "longest document in tokens", numberArg("--max-length", { integer: true, min: 2, max: MAX_LENGTH }), 2048)
    .addOption(new Option("--truncation <how>", "documents longer than --max-length: keep-start (as training does), keep-end or drop").choices(TRUNCATIONS).default("keep-start"))
    .option("--batch-size <n>", "documents per forward pass", numberArg("--batch-size", { integer: true, min: 1 }), 8)
    .addOption(new Option("--dtype <dtype>", "bf16, fp16 or fp32 (default: fp32)").choices(["bf16", "fp16", "fp32"]))
    .option("--device <device>", "cpu, cuda, cuda:1 … (default: cuda when available)")
    .option("--python <path>", "Python interpreter for the engine")
    .option("--json <file>", "also write the result as JSON")
    .option("--label <name>", "label of the run in kielo.db")
    .option("--db <file>", `the store (default: $KIELO_DB or ./kielo.db, now ${defaultStorePath()})`)
    .option("--no-store", "do not record the run in the store")
    .option("--quiet", "no progress output")
    .action(evalLossCommand);
}

async function evalLossCommand(options: EvalLossOptions): Promise<void> {
  if (!existsSync(options.model)) throw new KieloError(`--model folder ${resolve(options.model)} does not exist`, { hint: "A Hugging Face model folder: config.json, *.safetensors, tokenizer.json." });
  if (options.adapter !== undefined && !existsSync(join(options.adapter, "adapter_config.json"))) {
    throw new KieloError(`--adapter ${resolve(options.adapter)} is not an adapter folder (no adapter_config.json)`, { hint: "Point it at the model/ folder of a LoRA or QLoRA run." });
  }
  if (!existsSync(options.data)) throw new KieloError(`--data ${resolve(options.data)} does not exist`, { hint: "Held-out records: a JSONL file written by `kielo data convert`." });
  // An adapter run saves the tokenizer it trained with (it may have added tokens); prefer it.
  const useAdapterTokenizer = options.adapter !== undefined && existsSync(join(options.adapter, "tokenizer.json"));
  const tokenizer = loadTokenizer(useAdapterTokenizer ? options.adapter! : options.model, useAdapterTokenizer ? "--adapter folder" : "--model folder");
  const { dir, remove } = await makeTempDir("eval-loss");
  try {
    const compiled = await compileFolder(options.data, tokenizer, join(dir, "data"), {
      template: options.template,
      policy: options.policy,
      maxLength: options.maxLength,
      truncation: options.truncation,
      pack: null,
      force: true,
    });
    if (compiled.manifest.kind !== "sft") throw new KieloError(`${options.data} holds preference pairs; the held-out loss is computed on conversations`);
    if (compiled.manifest.trained_tokens === 0) throw new KieloError(`${options.data}: no trained tokens under --policy ${options.policy}`, { hint: "Records need assistant replies; try --policy all." });
    const progress = new Progress("eval loss", { unit: "documents", total: compiled.manifest.documents, quiet: Boolean(options.quiet) });
    const result = await engineHeldoutLoss({
      python: findPython(options.python),
      modelDir: options.model,
      adapterDir: options.adapter,
      dataDir: compiled.outDir,
      batchSize: options.batchSize,
      device: options.device,
      dtype: options.dtype,
      onProgress: (done) => progress.set(done),
    });
    progress.done();
    const summary = {
      eval_loss: result.loss,
      tokens: result.tokens,
      documents: result.documents,
      dropped: compiled.manifest.dropped,
      data: resolve(options.data),
      model: resolve(options.model),
      adapter: options.adapter === undefined ? null : resolve(options.adapter),
      policy: options.policy,
      max_length: options.maxLength,
    };
    process.stdout.write(`held-out loss ${result.loss.toFixed(4)} over ${result.tokens.toLocaleString("en-US")} trained tokens in ${result.documents} documents\n`);
    if (options.json !== undefined) await writeFileAtomic(options.json, `${JSON.stringify(summary, null, 2)}\n`);
    if (options.store) {
      const db = openStore(options.db);
      const runId = startRun(db, EVAL_LOSS_RUN_KIND, { label: options.label ?? options.adapter ?? options.model, config: summary });
      finishRun(db, runId, "done", summary);
      process.stdout.write(`recorded run ${runId} (${EVAL_LOSS_RUN_KIND}) in ${options.db ?? defaultStorePath()}\n`);
    }
  } finally {
    await remove();
  }
}
