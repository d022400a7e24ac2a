/** `kielo eval …`: evaluate model responses. `eval ifeval` scores IFEval strict and loose. */
import { Command, Option } from "commander";
import { registerEvalLoss } from "./eval-loss.ts";
import { registerEvalText } from "./eval-text.ts";
import { openStore, defaultStorePath } from "../../store/db.ts";
import { writeFileAtomic } from "../../util/atomic.ts";
import { evaluateIfeval, toJsonReport } from "../../eval/ifeval/evaluate.ts";
import { DEFAULT_PROMPTS_FILE } from "../../eval/ifeval/prompts.ts";
import { formatReport } from "../../eval/ifeval/report.ts";
import { storeIfevalRun } from "../../eval/ifeval/store.ts";
import type { DetectorName, LanguagePromptExclusion } from "../../eval/ifeval/target-language.ts";

interface IfevalCliOptions {
  responses: string;
  prompts?: string;
  json?: string;
  loose?: boolean;
  lang?: string;
  label?: string;
  detector: DetectorName;
  excludeLanguagePrompts: LanguagePromptExclusion;
  db?: string;
  store: boolean;
  quiet?: boolean;
}

export function registerEval(program: Command): void {
  const evalCommand = program.command("eval").description("evaluate models and their responses (IFEval strict and loose, response language, text metrics, held-out loss)");
  registerEvalText(evalCommand);
  registerEvalLoss(evalCommand);
  evalCommand
    .command("ifeval")
    .description(
      "score responses to IFEval prompts exactly as the reference implementation does: prompt- and " +
        "instruction-level accuracy, strict and loose, per category and per instruction id",
    )
    .requiredOption("--responses <file>", 'JSONL of {"prompt", "response"} (optionally "key"): joined by key, else by exact prompt text')
    .option("--prompts <file>", `IFEval prompts, reference JSONL or Hugging Face format (default: the 541 shipped prompts, ${DEFAULT_PROMPTS_FILE})`)
    .option("--json <file>", "also write the report as JSON, with per-prompt strict and loose verdicts")
    .option("--loose", "show loose accuracy in the per-category and per-instruction tables too (strict is shown always)")
    .option(
      "--lang <code>",
      "target-language evaluation: exclude prompts that ask for a third language and report the share of responses detected as <code> (e.g. fi)",
    )
    .option("--label <name>", "run/model label stored with the results in kielo.db")
    .addOption(
      new Option("--detector <name>", "language detector of the headline response-language rate (both are always reported)")
        .choices(["langdetect", "eld"])
        .default("langdetect"),
    )
    .addOption(
      new Option(
        "--exclude-language-prompts <which>",
        "with --lang: drop prompts whose language:response_language asks for a language other than en or the target (other; kielo translate-ifeval output: 510 for Finnish), or every prompt with such an instruction (all: the paper's 541 → 510 on the English reference file; never use it on a translated file, whose prompts all carry the target-language instruction)",
      )
        .choices(["other", "all"])
        .default("other"),
    )
    .option("--db <file>", `the store to record the run in (default: $KIELO_DB or ./kielo.db, now ${defaultStorePath()})`)
    .option("--no-store", "do not record the run in the store")
    .option("--quiet", "no progress output")
    .action(async (options: IfevalCliOptions) => {
      const result = await evaluateIfeval({
        responsesFile: options.responses,
        promptsFile: options.prompts,
        lang: options.lang,
        detector: options.detector,
        exclusion: options.excludeLanguagePrompts,
        quiet: options.quiet,
      });
      process.stdout.write(formatReport(result, { label: options.label, loose: options.loose }));
      if (options.json !== undefined) {
        await writeFileAtomic(options.json, `${JSON.stringify(toJsonReport(result, options.label), null, 2)}\n`);
        process.stdout.write(`\nwrote ${options.json}\n`);
      }
      if (options.store) {
        const db = openStore(options.db ?? defaultStorePath());
        try {
          const runId = storeIfevalRun(db, result, options.label, {
            prompts_file: result.prompts_file,
            responses_file: result.responses_file,
            lang: options.lang ?? null,
            detector: options.lang === undefined ? null : options.detector,
            exclusion: options.lang === undefined ? null : options.excludeLanguagePrompts,
          });
          process.stdout.write(`recorded run ${runId} (eval-ifeval${options.label ? `, label ${options.label}` : ""}) in ${options.db ?? defaultStorePath()}\n`);
        } finally {
          db.close();
        }
      }
    });
}
