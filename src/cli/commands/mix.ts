/** `kielo mix`: all base-language rows + a seeded, nested share of the added-language rows. */
import type { Command } from "commander";
import { KieloError } from "../../util/errors.ts";
import { manifestPathFor, writeMix, writeMixFamily, type MixManifest } from "../../mix/mix.ts";
import { openStore } from "../../store/db.ts";
import { finishRun, startRun, statusOfError } from "../../store/runs.ts";
import { numberArg, numberListArg } from "../options.ts";

interface MixFlags {
  base: string;
  add: string;
  seed: number;
  fraction?: number;
  fractions?: number[];
  out?: string;
  outDir?: string;
  name?: string;
  force?: boolean;
  quiet?: boolean;
}

export function registerMix(program: Command): void {
  program
    .command("mix")
    .description(
      "make language mixes: every record of --base plus round(fraction × n) records of --add, chosen as the\n" +
        "first k of one seeded permutation, so that for one seed the smaller mixes are subsets of the larger ones.\n" +
        "Output: base records in file order, then the chosen added records in file order; plus <name>.manifest.json.",
    )
    .requiredOption("--base <records.jsonl>", "records taken whole (e.g. the English data)")
    .requiredOption("--add <records.jsonl>", "records of which a fraction is added (e.g. the Finnish data)")
    .requiredOption("--seed <n>", "seed of the permutation that picks the added records", numberArg("--seed", { integer: true, min: 0 }))
    .option("--fraction <f>", "share of the added records, 0 … 1 (0.1 = 10 %); with --out", numberArg("--fraction"))
    .option("--out <file.jsonl>", "the mix (with --fraction)")
    .option("--fractions <list>", "several shares at once, e.g. 0,0.1,0.2,0.4; with --out-dir and --name", numberListArg("--fractions"))
    .option("--out-dir <dir>", "folder for a family of mixes (with --fractions)")
    .option("--name <name>", "family name: files are <out-dir>/<name>-<pct>pct.jsonl (with --fractions)")
    .option("--force", "replace existing mixes")
    .option("--quiet", "no progress output")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  kielo mix --base en.jsonl --add fi.jsonl --fraction 0.1 --seed 42 --out en-fi-10pct.jsonl\n" +
        "  kielo mix --base en.jsonl --add fi.jsonl --fractions 0,0.1,0.2,0.4 --seed 42 --out-dir mixes --name en-fi",
    )
    .action(async (flags: MixFlags) => {
      const single = flags.fraction !== undefined || flags.out !== undefined;
      const family = flags.fractions !== undefined || flags.outDir !== undefined || flags.name !== undefined;
      if (single === family) {
        throw new KieloError("give either --fraction with --out, or --fractions with --out-dir and --name");
      }
      if (single && (flags.fraction === undefined || flags.out === undefined)) throw new KieloError("--fraction and --out go together");
      if (family && (flags.fractions === undefined || flags.outDir === undefined || flags.name === undefined)) {
        throw new KieloError("--fractions, --out-dir and --name go together");
      }
      const common = { base: flags.base, add: flags.add, seed: flags.seed, force: flags.force ?? false, quiet: flags.quiet ?? false };
      const db = openStore();
      const runId = startRun(db, "mix", { label: single ? flags.out! : flags.name!, config: flags });
      try {
        const manifests = single
          ? [await writeMix({ ...common, fraction: flags.fraction!, out: flags.out! })]
          : await writeMixFamily({ ...common, fractions: flags.fractions!, outDir: flags.outDir!, name: flags.name! });
        finishRun(db, runId, "done", manifests.map(({ name, fraction, rows_out, base_rows, added_rows }) => ({ name, fraction, rows_out, base_rows, added_rows })));
        process.stdout.write(summary(manifests, single ? [flags.out!] : undefined, flags.outDir));
      } catch (error) {
        finishRun(db, runId, statusOfError(error), { error: (error as Error).message });
        throw error;
      } finally {
        db.close();
      }
    });
}

function summary(manifests: MixManifest[], outs: string[] | undefined, outDir: string | undefined): string {
  const first = manifests[0]!;
  const lines = [`base ${first.base.rows} records, added file ${first.add.rows} records, seed ${first.seed}`];
  manifests.forEach((m, i) => {
    const out = outs?.[i] ?? `${outDir}/${m.name}.jsonl`;
    const renamed = m.renamed_ids.length > 0 ? `, ${m.renamed_ids.length} ids renamed` : "";
    lines.push(`  ${out}: ${m.rows_out} records (${m.base_rows} base + ${m.added_rows} added, fraction ${m.fraction}${renamed}); manifest ${manifestPathFor(out)}`);
  });
  return `${lines.join("\n")}\n`;
}
