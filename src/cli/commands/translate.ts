/** `kielo translate`: translate records with an LLM, structure-preserving, cached and resumable. */
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { addBackendOptions, backendFromOptions, type BackendCliOptions } from "../backend-options.ts";
import { number } from "../options.ts";
import { openStore, defaultStorePath } from "../../store/db.ts";
import { KieloError } from "../../util/errors.ts";
import { builtinScaffolding, loadPrompt } from "../../translate/prompt.ts";
import { translateFile } from "../../translate/translate.ts";
import { showRows } from "../../clean/show.ts";

interface TranslateCliOptions extends BackendCliOptions {
  from: string;
  to: string;
  out?: string;
  promptFile?: string;
  maxChars: string;
  translateJson?: boolean;
  fromCache?: boolean;
  db?: string;
  quiet?: boolean;
  show?: string;
}

export function registerTranslate(program: Command): void {
  const command = program
    .command("translate")
    .description(
      "translate kielo records (conversations, preference pairs) with an LLM: every message separately, long ones split\n" +
        "at paragraphs, code/URLs/placeholders protected; each segment cached in kielo.db, so a re-run resumes",
    )
    .argument("<input>", "JSONL file of kielo records")
    .option("--from <lang>", "source language", "en")
    .requiredOption("--to <lang>", "target language (a prompt file resources/translate/<from>-<to>.yaml must exist, or --prompt-file)")
    .option("--out <file>", "output JSONL (written atomically when all rows are done)")
    .option("--prompt-file <file>", "few-shot prompt YAML instead of the built-in one (see resources/translate/en-fi.yaml)")
    .option("--max-chars <n>", "longest segment sent at once; longer messages are split at paragraph boundaries", "2000")
    .option("--translate-json", "translate string values of JSON messages and ```json blocks (default: keep JSON verbatim)")
    .option("--from-cache", "do not generate: write the rows whose segments are all in the cache")
    .option("--db <file>", "workspace database holding the cache (default $KIELO_DB or ./kielo.db)")
    .option("--show <ids>", "instead of translating: print source and translation of these ids (comma-separated) from --out")
    .option("--quiet", "no progress output");
  addBackendOptions(command).action(async (input: string, options: TranslateCliOptions) => {
    if (options.out === undefined) throw new KieloError("--out <file> is required");
    if (options.show !== undefined) {
      if (!existsSync(options.out)) throw new KieloError(`${options.out} not found: translate first, or run with --from-cache`);
      process.stdout.write(await showRows(options.out, options.show.split(","), { source: undefined, lang: options.to, scaffolding: builtinScaffolding }));
      return;
    }
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const prompt = loadPrompt(options.from, options.to, options.promptFile);
    const { backend, decoding } = await backendFromOptions(options, prompt.stop, log);
    const db = openStore(options.db ?? defaultStorePath());
    try {
      const summary = await translateFile({
        input,
        output: options.out,
        from: options.from,
        to: options.to,
        backend,
        decoding,
        prompt,
        db,
        maxChars: number(options.maxChars, "--max-chars", { integer: true, min: 1 }),
        translateJson: options.translateJson ?? false,
        fromCache: options.fromCache ?? false,
        quiet: options.quiet ?? false,
      });
      log(
        `translated ${summary.rowsWritten}/${summary.rows} rows → ${options.out}: ${summary.uniqueSegments} unique segments ` +
          `(${summary.cached} from cache, ${summary.generated} generated), ${summary.rowsWithIssues} rows with placeholder/truncation issues` +
          (summary.rowsIncomplete > 0 ? `, ${summary.rowsIncomplete} rows not yet complete in the cache (left out)` : "") +
          `, ${summary.seconds.toFixed(1)}s`,
      );
    } finally {
      db.close();
    }
  });
}
