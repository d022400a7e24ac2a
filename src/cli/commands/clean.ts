/** `kielo clean`: drop translated records that break cleaning rules, with a report of why. */
import type { Command } from "commander";
import { cleanFile } from "../../clean/clean.ts";
import { RULES, loadCleanConfig, type RuleName } from "../../clean/config.ts";
import { showRows } from "../../clean/show.ts";
import { builtinScaffolding } from "../../translate/prompt.ts";
import { number } from "../options.ts";
import { KieloError } from "../../util/errors.ts";

interface CleanCliOptions {
  out?: string;
  report?: string;
  source?: string;
  lang?: string;
  sourceLang?: string;
  config?: string;
  rules?: string;
  minLetters?: string;
  ratioK?: string;
  minRepeats?: string;
  maxWordOverlap?: string;
  show?: string;
  quiet?: boolean;
}

export function registerClean(program: Command): void {
  program
    .command("clean")
    .description(
      "check translated records and drop those that break a rule: empty, wrong-language, untranslated, length-ratio,\n" +
        "repetition, scaffolding, truncated, code-block, placeholder, misaligned. A conversation or preference pair is\n" +
        "kept or dropped as a whole. The report gives counts and example ids per rule.",
    )
    .argument("<input>", "JSONL of translated kielo records (e.g. the output of kielo translate)")
    .option("--out <file>", "kept records (JSONL, written atomically)")
    .option("--report <file>", "JSON report: counts and example ids per rule, learned length-ratio bounds, thresholds")
    .option("--source <file>", "the source records, joined by id (default: the source kept in meta.translation by kielo translate)")
    .option("--lang <code>", "expected language of the translations (default: each record's lang)")
    .option("--source-lang <code>", "language of the sources (default: meta.translation.from, else the source record's lang)")
    .option("--config <file>", "YAML thresholds (see docs/translate.md); flags below override it")
    .option("--rules <list>", `comma-separated rules to apply (default all: ${RULES.join(",")})`)
    .option("--min-letters <n>", "texts with fewer letters are not language-checked")
    .option("--ratio-k <k>", "length-ratio bounds: median ± k·MAD of ln(target/source length)")
    .option("--min-repeats <n>", "back-to-back repeats of a phrase that count as a loop")
    .option("--max-word-overlap <share>", "share of target words found in the source above which it is untranslated")
    .option("--show <ids>", "instead of cleaning: print source and translation of these ids (comma-separated) with the rules they broke")
    .option("--quiet", "no progress output")
    .action(async (input: string, options: CleanCliOptions) => {
      const config = loadCleanConfig(options.config);
      if (options.rules !== undefined) {
        const rules = options.rules.split(",").map((rule) => rule.trim());
        for (const rule of rules) {
          if (!(RULES as readonly string[]).includes(rule)) throw new KieloError(`--rules: unknown rule ${JSON.stringify(rule)} (rules: ${RULES.join(", ")})`);
        }
        config.rules = rules as RuleName[];
      }
      if (options.minLetters !== undefined) config.language.min_letters = number(options.minLetters, "--min-letters", { integer: true, min: 1 });
      if (options.ratioK !== undefined) config.length_ratio.k = number(options.ratioK, "--ratio-k", { min: 0.1 });
      if (options.minRepeats !== undefined) config.repetition.min_repeats = number(options.minRepeats, "--min-repeats", { integer: true, min: 2 });
      if (options.maxWordOverlap !== undefined) {
        config.untranslated.max_word_overlap = number(options.maxWordOverlap, "--max-word-overlap", { min: 0, max: 1 });
      }
      if (options.show !== undefined) {
        process.stdout.write(await showRows(input, options.show.split(","), { source: options.source, lang: options.lang, config, scaffolding: builtinScaffolding }));
        return;
      }
      if (options.out === undefined) throw new KieloError("--out <file> is required (or --show <ids> to review rows)");
      const report = await cleanFile({
        input,
        output: options.out,
        ...(options.report !== undefined ? { report: options.report } : {}),
        ...(options.source !== undefined ? { source: options.source } : {}),
        ...(options.lang !== undefined ? { lang: options.lang } : {}),
        ...(options.sourceLang !== undefined ? { sourceLang: options.sourceLang } : {}),
        config,
        scaffolding: builtinScaffolding,
        quiet: options.quiet ?? false,
      });
      const fired = Object.entries(report.rules)
        .filter(([, stats]) => stats.rows > 0)
        .map(([rule, stats]) => `${rule} ${stats.rows}`)
        .join(", ");
      process.stderr.write(
        `kept ${report.rows_kept}/${report.rows_in} rows → ${options.out} (dropped ${report.rows_dropped}${fired ? `: ${fired}` : ""})` +
          (report.rows_without_source > 0 ? `; ${report.rows_without_source} rows had no source (source-based rules skipped)` : "") +
          "\n",
      );
    });
}
