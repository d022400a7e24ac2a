/** `kielo eval text`: text metrics and model-based scores of answers, stored per answer in kielo.db. */
import { resolve } from "node:path";
import type { Command } from "commander";
import { defaultStorePath, openStore } from "../../store/db.ts";
import { readAnswerMetrics, type AnswerMetricsRow } from "../../store/answer-metrics.ts";
import { listRuns } from "../../store/runs.ts";
import { readAnswers } from "../../eval/text/answers.ts";
import { DEFAULT_READABILITY_LANG, evaluateTexts } from "../../eval/text/evaluate.ts";
import { exportAnswerMetrics } from "../../eval/text/export.ts";
import { formatSummary, storeTextEval, TEXT_EVAL_RUN_KIND } from "../../eval/text/run.ts";
import { buildScorers, readScorersConfig } from "../../eval/text/scorers/config.ts";
import { summariseAnswers } from "../../eval/text/summary.ts";
import { writeFileAtomic } from "../../util/atomic.ts";
import { KieloError } from "../../util/errors.ts";
import { number } from "../options.ts";

interface EvalTextOptions {
  readabilityLang: string;
  lang?: string;
  tokenizer?: string;
  scorers?: string;
  label?: string;
  out?: string;
  json?: string;
  fromRun?: string;
  python?: string;
  db?: string;
  store: boolean;
  quiet?: boolean;
}

export function registerEvalText(evalCommand: Command): void {
  evalCommand
    .command("text")
    .description(
      "text metrics of answers: textstat's readability block (as the Python package computes it), answer language, " +
        "repetition, copy of the prompt, lengths, and model-based scores (VADER, a classifier, an embedding model, an LLM judge)",
    )
    .argument("[answers]", 'JSONL of {"key", "prompt", "response"} (kielo generate output; "answer" also accepted)')
    .option(
      "--readability-lang <lang>",
      "textstat's language (set_lang): en_US, en (= en_GB), es, fr, it, pl, pt …, or auto (each answer's detected language where textstat has it, else en_US)",
      DEFAULT_READABILITY_LANG,
    )
    .option("--lang <code>", "the language answers should be in: adds in_target_lang (1 when langdetect agrees)")
    .option("--tokenizer <dir>", "a tokenizer folder (the model's): adds length_tokens")
    .option("--scorers <config.yaml>", "model-based scorers to run (docs/text-metrics.md)")
    .option("--label <name>", "the model/run label stored with every row")
    .option("--out <file>", "also write one row per answer to .csv, .parquet or .jsonl")
    .option("--json <file>", "also write the summary (mean, p10, p90 per metric) as JSON")
    .option("--from-run <id>", "do not score: read the rows of an earlier eval-text run from the store (with --out / --json)")
    .option("--python <path>", "the engine's Python (for classifier and embedding scorers)")
    .option("--db <file>", `the store (default: $KIELO_DB or ./kielo.db, now ${defaultStorePath()})`)
    .option("--no-store", "do not record the run in the store")
    .option("--quiet", "no progress output")
    .action(async (answersFile: string | undefined, options: EvalTextOptions) => {
      const dbPath = options.db ?? defaultStorePath();
      let rows: AnswerMetricsRow[];
      if (options.fromRun !== undefined) {
        const runId = number(options.fromRun, "--from-run", { integer: true, min: 1 });
        const db = openStore(dbPath);
        try {
          if (!listRuns(db, TEXT_EVAL_RUN_KIND).some((run) => run.id === runId)) {
            throw new KieloError(`${dbPath} has no ${TEXT_EVAL_RUN_KIND} run ${runId}`, { hint: "kielo eval text prints the run id it records" });
          }
          rows = readAnswerMetrics(db, runId);
        } finally {
          db.close();
        }
        process.stdout.write(formatSummary(summariseAnswers(rows)));
      } else {
        if (answersFile === undefined) throw new KieloError("give an answers file (or --from-run <id>)", { hint: "kielo eval text answers.jsonl" });
        const answers = await readAnswers(answersFile);
        const db = openStore(options.store ? dbPath : ":memory:");
        try {
          const scorers = options.scorers ? buildScorers(readScorersConfig(options.scorers), db, { ...(options.python ? { python: options.python } : {}), log: (line) => process.stderr.write(`${line}\n`) }) : [];
          rows = await evaluateTexts(answers, {
            readabilityLang: options.readabilityLang,
            targetLang: options.lang,
            tokenizer: options.tokenizer,
            scorers,
            model: options.label ?? null,
            quiet: Boolean(options.quiet),
          });
          const config = { answers: resolve(answersFile), readability_lang: options.readabilityLang, lang: options.lang ?? null, tokenizer: options.tokenizer ?? null, scorers: options.scorers ?? null };
          const { runId, summary } = storeTextEval(db, rows, options.label, config);
          process.stdout.write(formatSummary(summary));
          if (options.store) process.stdout.write(`recorded run ${runId} (${TEXT_EVAL_RUN_KIND}${options.label ? `, label ${options.label}` : ""}) in ${dbPath}\n`);
        } finally {
          db.close();
        }
      }
      if (options.out !== undefined) {
        await exportAnswerMetrics(options.out, rows);
        process.stdout.write(`wrote ${rows.length} rows to ${options.out}\n`);
      }
      if (options.json !== undefined) {
        await writeFileAtomic(options.json, `${JSON.stringify(summariseAnswers(rows), null, 2)}\n`);
        process.stdout.write(`wrote ${options.json}\n`);
      }
    });
}
