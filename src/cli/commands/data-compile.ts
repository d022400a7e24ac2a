/** `kielo data compile`: records → the exact tokens and trained flags a model will be trained on. */
import { Option, type Command } from "commander";
import { TEMPLATE_SPEC_HELP } from "../../chat/chat-template.ts";
import { compileFolder, hashFile, MAX_LENGTH, MAX_PACK } from "../../compile/compile-folder.ts";
import { POLICIES, type Manifest, type Policy } from "../../compile/manifest.ts";
import { TRUNCATIONS, type Truncation } from "../../compile/truncate.ts";
import { openStore } from "../../store/db.ts";
import { finishRun, startRun, statusOfError } from "../../store/runs.ts";
import { loadTokenizer } from "../../tokenize/tokenizer-folder.ts";
import { formatRate, Progress } from "../../util/progress.ts";
import { numberArg } from "../options.ts";

interface CompileFlags {
  tokenizer: string;
  out: string;
  template?: string;
  policy: Policy;
  maxLength?: number;
  truncation: Truncation;
  pack?: number;
  force?: boolean;
  quiet?: boolean;
}

export function registerDataCompile(data: Command): void {
  data
    .command("compile")
    .description(
      "render records with a chat template, tokenise them and mark which tokens are trained; write token shards\n" +
        "(tokens.bin, trained.bin, docs.bin, packs.bin, rows.jsonl, manifest.json — docs/formats.md §2)",
    )
    .argument("<records.jsonl>", "kielo records (conversations, or preference pairs)")
    .requiredOption("--tokenizer <dir>", "folder with tokenizer.json (or tokenizer.json.gz) and tokenizer_config.json")
    .requiredOption("--out <dir>", "output folder (written atomically)")
    .option(
      "--template <spec>",
      `chat template: ${TEMPLATE_SPEC_HELP}. Default: a record's meta.template (e.g. qa-context) if set, else the model's own`,
    )
    .addOption(
      new Option("--policy <policy>", "trained tokens (conversations): all = every token but the first (no prompt masking); assistant = assistant replies incl. their end-of-turn/EOS; last-assistant = the final reply only")
        .choices(POLICIES)
        .default("all"),
    )
    .option("--max-length <n>", "longest document in tokens (default: none, or the pack size)", numberArg("--max-length", { integer: true, min: 2, max: MAX_LENGTH }))
    .addOption(
      new Option("--truncation <how>", "documents longer than --max-length: drop them (counted), keep-start or keep-end")
        .choices(TRUNCATIONS)
        .default("drop"),
    )
    .option("--pack <n>", "pack documents into sequences of n tokens (best-fit decreasing; conversations only)", numberArg("--pack", { integer: true, min: 2, max: MAX_PACK }))
    .option("--force", "replace an output folder that holds a different compile")
    .option("--quiet", "no progress output")
    .action(async (records: string, flags: CompileFlags) => {
      const tokenizer = loadTokenizer(flags.tokenizer);
      // One pass over the file gives its hash (for the manifest) and the row total (for progress).
      const { sha256, lines } = await hashFile(records);
      const progress = new Progress("compile", { unit: "rows", total: lines, quiet: flags.quiet ?? false });
      const started = performance.now();
      const options = {
        template: flags.template,
        policy: flags.policy,
        maxLength: flags.maxLength ?? null,
        truncation: flags.truncation,
        pack: flags.pack ?? null,
        force: flags.force ?? false,
        sourceSha256: sha256,
        onProgress: (rows: number, tokens: number) => {
          const seconds = (performance.now() - started) / 1000;
          progress.set(rows, `${formatRate(seconds > 0 ? tokens / seconds : 0)} tokens/s`);
        },
      };
      const db = openStore();
      const runId = startRun(db, "compile", {
        config: { records, tokenizer: tokenizer.dir, out: flags.out, template: flags.template ?? null, policy: flags.policy, max_length: options.maxLength, truncation: flags.truncation, pack: options.pack },
      });
      // Ctrl-C ends the process through process.exit (src/cli/main.ts); record the run as interrupted
      // on the way out (node:sqlite is synchronous, so this works inside an exit handler).
      const markInterrupted = (): void => finishRun(db, runId, "interrupted");
      process.on("exit", markInterrupted);
      try {
        const result = await compileFolder(records, tokenizer, flags.out, options);
        progress.done();
        finishRun(db, runId, "done", { status: result.status, out: result.outDir, manifest: result.manifest });
        const seconds = (performance.now() - started) / 1000;
        process.stdout.write(
          result.status === "up-to-date"
            ? `${result.outDir} is up to date (same records, tokenizer, template and settings); nothing written. --force rewrites it.\n`
            : summary(result.manifest, result.outDir, seconds),
        );
      } catch (error) {
        finishRun(db, runId, statusOfError(error), { error: (error as Error).message });
        throw error;
      } finally {
        process.off("exit", markInterrupted);
        db.close();
      }
    });
}

function summary(m: Manifest, out: string, seconds: number): string {
  const n = (x: number): string => x.toLocaleString("en-US");
  const share = m.tokens > 0 ? ((100 * m.trained_tokens) / m.tokens).toFixed(1) : "0.0";
  const dropped = Object.entries(m.dropped).map(([reason, count]) => `${reason} ${n(count)}`);
  const lines = [
    `compiled ${n(m.rows_out)} of ${n(m.rows_in)} ${m.kind === "preference" ? "pairs" : "rows"} → ${out}`,
    `  kind ${m.kind}, template ${m.template.name}, policy ${m.policy}, max length ${m.max_length ?? "none"} (${m.truncation})${m.packing ? `, packed into ${m.packing.seq_len}-token sequences` : ""}`,
    `  documents ${n(m.documents)}, sequences ${n(m.sequences)}, tokens ${n(m.tokens)}, trained ${n(m.trained_tokens)} (${share}%)`,
    `  dropped: ${dropped.length > 0 ? dropped.join(", ") : "none"}; truncated: ${n(m.truncated)}`,
    `  ${seconds.toFixed(1)}s, ${formatRate(seconds > 0 ? m.tokens / seconds : 0)} tokens/s`,
  ];
  return `${lines.join("\n")}\n`;
}
