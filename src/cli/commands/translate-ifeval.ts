/** `kielo translate-ifeval`: the IFEval prompts and their language-carrying kwargs, for `kielo eval ifeval --lang`. */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { addBackendOptions, backendFromOptions, type BackendCliOptions } from "../backend-options.ts";
import { number } from "../options.ts";
import { defaultStorePath, openStore } from "../../store/db.ts";
import { finishRun, startRun, statusOfError } from "../../store/runs.ts";
import { writeFileAtomic } from "../../util/atomic.ts";
import { KieloError } from "../../util/errors.ts";
import { readIfevalRows, selectPrompts, translateIfeval, writeIfevalRows } from "../../translate/ifeval.ts";
import { loadPrompt } from "../../translate/prompt.ts";
import { openCache } from "../../translate/translate.ts";

interface TranslateIfevalCliOptions extends BackendCliOptions {
  from: string;
  to: string;
  out: string;
  input?: string;
  report?: string;
  promptFile?: string;
  maxChars: string;
  languageConstraint: boolean;
  keepLanguagePrompts?: boolean;
  fromCache?: boolean;
  db?: string;
  quiet?: boolean;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** The IFEval prompts shipped in the repo, else the shared copy next to it. */
export function defaultIfevalInput(): string {
  const shipped = join(REPO_ROOT, "resources", "ifeval", "input_data.jsonl");
  return existsSync(shipped) ? shipped : resolve(REPO_ROOT, "..", "shared", "data", "ifeval", "input_data.jsonl");
}

export function registerTranslateIfeval(program: Command): void {
  const command = program
    .command("translate-ifeval")
    .description(
      "translate the IFEval prompts and the kwargs that carry language (keywords, forbidden words, end phrases, section\n" +
        "splitters, first words, prompts to repeat) consistently, keep the instruction ids, and add a\n" +
        "language:response_language constraint for the target: a prompt file for `kielo eval ifeval --lang <to>`",
    )
    .requiredOption("--to <lang>", "target language")
    .option("--from <lang>", "source language of the prompts", "en")
    .requiredOption("--out <file>", "output prompt file (reference IFEval JSONL: key, prompt, instruction_id_list, kwargs)")
    .option("--input <file>", "IFEval prompt file (default: resources/ifeval/input_data.jsonl, the 541 English prompts)")
    .option("--report <file>", "JSON list of prompts with problems (a kwarg missing from the translated prompt, lost placeholders)")
    .option("--prompt-file <file>", "few-shot prompt YAML instead of the built-in one")
    .option("--max-chars <n>", "longest segment sent at once", "2000")
    .option("--no-language-constraint", "do not add language:response_language {language: <to>}")
    .option("--keep-language-prompts", "keep the 31 prompts that ask for a language of their own (default: drop them, 541 → 510, as the paper does)")
    .option("--from-cache", "do not generate: use only what is in the cache (fails if something is missing)")
    .option("--db <file>", "workspace database holding the cache (default $KIELO_DB or ./kielo.db)")
    .option("--quiet", "no progress output");
  addBackendOptions(command).action(async (options: TranslateIfevalCliOptions) => {
    const input = options.input ?? defaultIfevalInput();
    if (!existsSync(input)) throw new KieloError(`IFEval prompt file ${input} not found`, { hint: "pass --input <file>" });
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const prompt = loadPrompt(options.from, options.to, options.promptFile);
    const { backend, decoding } = await backendFromOptions(options, prompt.stop, log);
    const { kept: rows, dropped } = selectPrompts(await readIfevalRows(input), options.keepLanguagePrompts ?? false);
    const db = openStore(options.db ?? defaultStorePath());
    const { key, cache } = openCache(db, backend, prompt, decoding);
    const runId = startRun(db, "translate", { label: "ifeval", config: { input, out: options.out, to: options.to, ...key, decoding } });
    try {
      const result = await translateIfeval(
        rows,
        { backend, prompt, cache, label: `translate-ifeval ${options.from}→${options.to}`, quiet: options.quiet ?? false },
        {
          to: options.to,
          maxChars: number(options.maxChars, "--max-chars", { integer: true, min: 1 }),
          addLanguageConstraint: options.languageConstraint,
          generate: !options.fromCache,
        },
      );
      await writeIfevalRows(options.out, result.rows);
      if (options.report !== undefined) await writeFileAtomic(options.report, `${JSON.stringify(result.problems, null, 2)}\n`);
      const summary = {
        prompts: result.rows.length,
        language_prompts_dropped: dropped.length,
        kwarg_strings: result.kwargStrings,
        cached: result.cached,
        generated: result.generated,
        language_constraints_added: result.languageConstraintsAdded,
        prompts_with_problems: new Set(result.problems.map((problem) => problem.key)).size,
      };
      finishRun(db, runId, "done", summary);
      log(
        `translated ${summary.prompts} IFEval prompts → ${options.out} (${dropped.length} asking for a language of their own left out; ${summary.kwarg_strings} kwarg strings; ${summary.cached} segments from cache, ` +
          `${summary.generated} generated; language constraint added to ${summary.language_constraints_added}; ` +
          `${summary.prompts_with_problems} prompts with problems${options.report ? `, see ${options.report}` : ""})`,
      );
    } catch (error) {
      finishRun(db, runId, statusOfError(error), { error: (error as Error).message });
      throw error;
    } finally {
      db.close();
    }
  });
}
