/** `kielo data convert`: a source dataset (JSONL, JSON, CSV, Parquet) → canonical records JSONL. */
import { InvalidArgumentError, Option, type Command } from "commander";
import { ADAPTERS } from "../../data/adapters/index.ts";
import { convertFile, formatConvertSummary } from "../../data/convert.ts";
import { INPUT_FORMATS, type InputFormat } from "../../data/readers/index.ts";
import { openStore } from "../../store/db.ts";
import { finishRun, startRun, statusOfError } from "../../store/runs.ts";
import { numberArg } from "../options.ts";

interface ConvertFlags {
  format: string;
  out: string;
  inputFormat?: InputFormat;
  lang?: string;
  pairs?: boolean;
  limit?: number;
  column: Record<string, string>;
  idPrefix?: string;
  force?: boolean;
  quiet?: boolean;
}

function columnMapping(value: string, previous: Record<string, string>): Record<string, string> {
  const match = /^([^=]+)=(.+)$/.exec(value);
  if (!match) throw new InvalidArgumentError("expected field=column, e.g. question=query");
  return { ...previous, [match[1]!.trim()]: match[2]!.trim() };
}

export function registerDataConvert(data: Command): void {
  const formats = ADAPTERS.map((adapter) => `  ${adapter.name.padEnd(11)} ${adapter.description}`).join("\n");
  data
    .command("convert")
    .description(`convert a dataset file to kielo records (JSONL, docs/formats.md §1); formats:\n${formats}`)
    .argument("<input>", "source file: .jsonl, .json (array), .csv, .tsv or .parquet; text formats may be .gz")
    .addOption(new Option("--format <format>", "the dataset's layout").choices(ADAPTERS.map((adapter) => adapter.name)).makeOptionMandatory())
    .requiredOption("--out <file.jsonl>", "output records (written atomically: complete or not at all)")
    .addOption(new Option("--input-format <kind>", "read the input as this file type instead of guessing from its extension").choices(INPUT_FORMATS))
    .option("--lang <code>", "language of the records (en, fi, hi …); also picks <field>_<code> columns where the source has them (dolly: instruction_fi …, oasst: text_en …)")
    .option("--pairs", "emit preference pairs (oasst: ranked sibling replies) instead of conversations")
    .option("--limit <n>", "stop after n output records", numberArg("--limit", { integer: true, min: 1 }))
    .option("--column <field=column>", "read a field from a differently named column (repeatable), e.g. --column question=query", columnMapping, {})
    .option("--id-prefix <prefix>", "prepend <prefix>- to every record id (keeps ids unique when combining files)")
    .option("--force", "replace --out if it exists")
    .option("--quiet", "no progress output")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  kielo data convert ../shared/data/oasst1/en_100_tree.jsonl --format oasst --out conv.jsonl\n" +
        "  kielo data convert dolly.jsonl --format dolly --lang fi --out dolly-fi.jsonl\n" +
        "  kielo data convert test.jsonl.gz --format hh-rlhf --id-prefix helpful --out hh.jsonl",
    )
    .action(async (input: string, flags: ConvertFlags) => {
      const options = {
        input,
        out: flags.out,
        format: flags.format,
        columns: flags.column,
        force: flags.force ?? false,
        quiet: flags.quiet ?? false,
        ...(flags.inputFormat === undefined ? {} : { inputFormat: flags.inputFormat }),
        ...(flags.lang === undefined ? {} : { lang: flags.lang }),
        ...(flags.pairs === undefined ? {} : { pairs: flags.pairs }),
        ...(flags.limit === undefined ? {} : { limit: flags.limit }),
        ...(flags.idPrefix === undefined ? {} : { idPrefix: flags.idPrefix }),
      };
      const db = openStore();
      const runId = startRun(db, "convert", { config: options });
      try {
        const summary = await convertFile(options);
        finishRun(db, runId, "done", summary);
        process.stdout.write(formatConvertSummary(summary));
      } catch (error) {
        finishRun(db, runId, statusOfError(error), { error: (error as Error).message });
        throw error;
      } finally {
        db.close();
      }
    });
}
