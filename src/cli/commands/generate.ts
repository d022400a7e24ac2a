/**
 * `kielo generate`: answer prompts with a local model (optionally with an adapter) on the engine.
 *
 * Prompts are chat-templated and tokenised here; the engine continues token ids in batches; the
 * answers are decoded here. The output rows `{key, prompt, response}` are what `kielo eval ifeval
 * --responses` reads, and are also stored in kielo.db.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Option, type Command } from "commander";
import { loadChatTemplate, TEMPLATE_SPEC_HELP } from "../../chat/chat-template.ts";
import { promptIds } from "../../chat/prompt-ids.ts";
import { readJsonl } from "../../data/jsonl.ts";
import { MessageSchema, type Message } from "../../data/records.ts";
import { GENERATE_BACKENDS, generateTokens, type GenerateBackend, type GenerateSummary } from "../../engine/generate.ts";
import { findPython } from "../../engine/python.ts";
import { openStore, transaction } from "../../store/db.ts";
import { insertGenerations } from "../../store/generations.ts";
import { finishRun, startRun } from "../../store/runs.ts";
import { loadTokenizer, type LoadedTokenizer } from "../../tokenize/tokenizer-folder.ts";
import { writeFileAtomic } from "../../util/atomic.ts";
import { InputError, KieloError } from "../../util/errors.ts";
import { number } from "../options.ts";
import { Progress } from "../../util/progress.ts";
import { DEFAULT_READABILITY_LANG, evaluateTexts } from "../../eval/text/evaluate.ts";
import { formatSummary, storeTextEval } from "../../eval/text/run.ts";
import { buildScorers, readScorersConfig } from "../../eval/text/scorers/config.ts";

interface GenerateOptions {
  model: string;
  adapter?: string;
  prompts: string;
  out: string;
  template?: string;
  system?: string;
  raw?: boolean;
  maxNewTokens: string;
  temperature: string;
  topP: string;
  seed: string;
  batchSize?: string;
  backend: GenerateBackend;
  dtype?: "bf16" | "fp16" | "fp32";
  device?: string;
  python?: string;
  label?: string;
  quiet?: boolean;
  metrics?: boolean;
  scorers?: string;
  readabilityLang: string;
  lang?: string;
}

/** One prompt as read from the input file. */
export interface PromptRow {
  key: string;
  /** The prompt as the user wrote it (the IFEval join key). */
  prompt: string;
  messages: Message[];
}

export function registerGenerate(program: Command): void {
  program
    .command("generate")
    .description("answer prompts with a local model on the engine (batched; chat template applied here)")
    .requiredOption("--model <dir>", "model folder (Hugging Face format: config.json, *.safetensors, tokenizer.json)")
    .option("--adapter <dir>", "LoRA/QLoRA adapter folder to apply (e.g. runs/<job>/model)")
    .requiredOption(
      "--prompts <file>",
      "JSONL: {prompt} (IFEval style), {messages: [...]} or kielo records; `key` or `id` names a row",
    )
    .requiredOption("--out <file>", "answers JSONL: {key, prompt, response, finish_reason}")
    .option("--template <spec>", `chat template: ${TEMPLATE_SPEC_HELP} (default: model)`)
    .option("--system <text>", "a system message put before every prompt")
    .option("--raw", "no chat template: the prompt text is continued as is (base models)")
    .option("--max-new-tokens <n>", "tokens to generate at most per answer", "512")
    .option("--temperature <t>", "sampling temperature; 0 = greedy", "0")
    .option("--top-p <p>", "nucleus sampling probability mass", "1")
    .option("--seed <n>", "sampling seed (the same seed gives the same answers)", "0")
    .option("--batch-size <n>", "prompts decoded together at most (default: 16 on the transformers backend; the fast backend keeps as many in flight as memory holds)")
    .addOption(
      new Option("--backend <name>", "engine decoder: fast (kielo's own, Llama-family models), transformers (transformers' generate), auto (fast when the model is one it computes)")
        .choices(GENERATE_BACKENDS)
        .default("auto"),
    )
    .option("--dtype <dtype>", "bf16, fp16 or fp32 (default: fp32 on CPU, bf16 on GPU)")
    .option("--device <device>", "cpu, cuda, cuda:1 … (default: cuda when available)")
    .option("--python <path>", "Python interpreter for the engine")
    .option("--label <name>", "label of the run in kielo.db")
    .option("--metrics", "also score the answers as `kielo eval text` does (stored in kielo.db, summary printed)")
    .option("--scorers <config.yaml>", "with --metrics: model-based scorers (docs/text-metrics.md)")
    .option("--readability-lang <lang>", "with --metrics: textstat's language, or auto", DEFAULT_READABILITY_LANG)
    .option("--lang <code>", "with --metrics: the language answers should be in")
    .option("--quiet", "no progress")
    .action(generateCommand);
}

async function generateCommand(options: GenerateOptions): Promise<void> {
  const numbers = {
    maxNewTokens: number(options.maxNewTokens, "--max-new-tokens", { integer: true, min: 1 }),
    batchSize: options.batchSize === undefined ? undefined : number(options.batchSize, "--batch-size", { integer: true, min: 1 }),
    seed: number(options.seed, "--seed", { integer: true, min: 0 }),
    temperature: number(options.temperature, "--temperature", { min: 0 }),
    topP: number(options.topP, "--top-p", { min: 0, max: 1 }),
  };
  if (!existsSync(options.model)) throw new KieloError(`--model folder ${resolve(options.model)} does not exist`, { hint: "A Hugging Face model folder: config.json, *.safetensors, tokenizer.json." });
  if (options.adapter !== undefined && !existsSync(join(options.adapter, "adapter_config.json"))) {
    throw new KieloError(`--adapter ${resolve(options.adapter)} is not an adapter folder (no adapter_config.json)`, { hint: "Point it at the model/ folder of a LoRA or QLoRA run." });
  }
  const useAdapterTokenizer = options.adapter !== undefined && existsSync(join(options.adapter, "tokenizer.json"));
  const tokenizer = loadTokenizer(useAdapterTokenizer ? options.adapter! : options.model, useAdapterTokenizer ? "--adapter folder" : "--model folder");
  const rows = await readPrompts(options.prompts, options.system);
  if (rows.length === 0) throw new KieloError(`${options.prompts} holds no prompts`);

  const template = options.raw ? null : loadChatTemplate(options.template, tokenizer);
  const requests = [];
  for (const row of rows) {
    // Raw prompts get the tokenizer's own special tokens, as a plain tokenizer call would; a
    // rendered template already holds its own (promptIds adds none).
    const ids = template
      ? await promptIds(template, tokenizer, row.messages)
      : (await tokenizer.tokenizer.encode(row.prompt, null, { addSpecialTokens: true })).getIds();
    requests.push({ key: row.key, promptIds: ids });
  }

  const progress = new Progress("generate", { unit: "prompts", total: rows.length, quiet: Boolean(options.quiet) });
  let engine: GenerateSummary | undefined;
  const results = await generateTokens(requests, {
    python: findPython(options.python),
    modelDir: options.model,
    adapterDir: options.adapter,
    stopTokenIds: stopTokenIds(options.model, tokenizer),
    dtype: options.dtype,
    device: options.device,
    backend: options.backend,
    onDone: (summary) => (engine = summary),
    onProgress: (done) => progress.set(done),
    ...numbers,
  });
  progress.done();

  const byKey = new Map(rows.map((row) => [row.key, row]));
  const answers: { key: string; prompt: string; response: string; finish_reason: string }[] = [];
  for (const result of results) {
    const row = byKey.get(result.key)!;
    const response = await tokenizer.tokenizer.decode(result.outputIds, true);
    answers.push({ key: row.key, prompt: row.prompt, response, finish_reason: result.finishReason });
  }
  await writeFileAtomic(options.out, answers.map((a) => `${JSON.stringify(a)}\n`).join(""));

  const db = openStore();
  const runId = startRun(db, "generate", {
    label: options.label ?? options.adapter ?? options.model,
    config: { ...options, model: resolve(options.model) },
  });
  transaction(db, () => insertGenerations(db, runId, answers.map((a) => ({ key: a.key, prompt: a.prompt, response: a.response, meta: { finish_reason: a.finish_reason } }))));
  const truncated = answers.filter((a) => a.finish_reason === "length").length;
  finishRun(db, runId, "done", { prompts: answers.length, hit_max_new_tokens: truncated, backend: engine?.backend ?? null });
  const speed = engine?.tokensPerSecond !== undefined ? `, ${Math.round(engine.tokensPerSecond)} tokens/s` : "";
  const fellBack = engine?.backendReason && options.backend === "auto" ? ` (not fast: ${engine.backendReason})` : "";
  process.stdout.write(
    `${answers.length} answers → ${resolve(options.out)} (${truncated} stopped at --max-new-tokens; ${engine?.backend ?? "engine"} backend${fellBack}${speed})\n`,
  );
  if (options.metrics) {
    const label = options.label ?? options.adapter ?? options.model;
    const scorers = options.scorers ? buildScorers(readScorersConfig(options.scorers), db, { ...(options.python ? { python: options.python } : {}) }) : [];
    const scored = await evaluateTexts(
      answers.map((a) => ({ key: a.key, prompt: a.prompt, answer: a.response })),
      { readabilityLang: options.readabilityLang, targetLang: options.lang, tokenizer: tokenizer.dir, scorers, model: label, sourceRunId: runId, quiet: Boolean(options.quiet) },
    );
    const stored = storeTextEval(db, scored, label, { generate_run: runId, readability_lang: options.readabilityLang, lang: options.lang ?? null, scorers: options.scorers ?? null });
    process.stdout.write(formatSummary(stored.summary));
    process.stdout.write(`recorded text metrics as run ${stored.runId} (eval-text)\n`);
  }
}

/** Read prompts: `{prompt}`, `{messages}` or kielo records (conversation: up to its last user turn; pair: its prompt). */
export async function readPrompts(path: string, system?: string): Promise<PromptRow[]> {
  const rows: PromptRow[] = [];
  const seen = new Set<string>();
  for await (const { line, value } of readJsonl(path)) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new InputError({ file: path, line }, "expected a JSON object");
    }
    const row = value as Record<string, unknown>;
    const keyValue = row["key"] ?? row["id"];
    const key = typeof keyValue === "string" || typeof keyValue === "number" ? String(keyValue) : `line-${line}`;
    if (seen.has(key)) throw new InputError({ file: path, line, field: "key" }, `duplicate key ${JSON.stringify(key)}`);
    seen.add(key);
    let messages: Message[];
    if (typeof row["prompt"] === "string") {
      messages = [{ role: "user", content: row["prompt"] }];
    } else {
      const source = Array.isArray(row["messages"]) ? "messages" : Array.isArray(row["prompt"]) ? "prompt" : null;
      if (source === null) {
        throw new InputError({ file: path, line }, "expected a `prompt` string or a `messages` list");
      }
      messages = (row[source] as unknown[]).map((m, i) => {
        const parsed = MessageSchema.safeParse(m);
        if (!parsed.success) {
          throw new InputError({ file: path, line, field: `${source}[${i}]` }, parsed.error.issues[0]!.message);
        }
        return parsed.data;
      });
      // Answer the conversation at its last user turn.
      while (messages.length > 0 && messages.at(-1)!.role === "assistant") messages.pop();
      if (messages.length === 0 || messages.at(-1)!.role !== "user") {
        throw new InputError({ file: path, line, field: source }, "has no user turn to answer");
      }
    }
    if (system !== undefined && messages[0]?.role !== "system") messages = [{ role: "system", content: system }, ...messages];
    const prompt = typeof row["prompt"] === "string" ? row["prompt"] : messages.at(-1)!.content;
    rows.push({ key, prompt, messages });
  }
  return rows;
}

/** Generation stops at the model's EOS token(s) from generation_config.json and the tokenizer's EOS. */
function stopTokenIds(modelDir: string, tokenizer: LoadedTokenizer): number[] {
  const ids = new Set<number>();
  const eos = tokenizer.special.eos_token?.id;
  if (typeof eos === "number") ids.add(eos);
  const configPath = join(modelDir, "generation_config.json");
  if (existsSync(configPath)) {
    const config = JSON.parse(readFileSync(configPath, "utf8")) as { eos_token_id?: unknown };
    const value = config.eos_token_id;
    for (const id of Array.isArray(value) ? value : [value]) if (typeof id === "number") ids.add(id);
  }
  return [...ids];
}
