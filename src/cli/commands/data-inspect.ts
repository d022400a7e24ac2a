/** `kielo data inspect`: see exactly what will be trained — decoded documents with trained tokens marked, and statistics. */
import type { Command } from "commander";
import { documentView, statsView, type MarkStyle } from "../../compile/inspect-view.ts";
import { openCompiled } from "../../compile/read-compiled.ts";
import { loadTokenizer } from "../../tokenize/tokenizer-folder.ts";
import { KieloError } from "../../util/errors.ts";
import { numberArg } from "../options.ts";

interface InspectFlags {
  row?: number;
  id?: string;
  stats?: boolean;
  tokenizer?: string;
  color?: boolean;
}

export function registerDataInspect(data: Command): void {
  data
    .command("inspect")
    .description(
      "show compiled data: a document decoded with trained tokens marked (green/underlined on a terminal,\n" +
        "[[trained]] when piped; masked text dim or plain; special tokens literal), and summary statistics",
    )
    .argument("<compiled>", "a folder written by kielo data compile")
    .option("--row <n>", "show document n (0-based, in stored order)", numberArg("--row", { integer: true, min: 0 }))
    .option("--id <id>", "show the documents of the record with this id (a preference pair has two)")
    .option("--stats", "show summary statistics (the default when neither --row nor --id is given)")
    .option("--tokenizer <dir>", "tokenizer folder for decoding (default: the one recorded in the manifest; its hash must match)")
    .option("--color", "colour even when not on a terminal")
    .option("--no-color", "brackets even on a terminal")
    .action(async (folder: string, flags: InspectFlags) => {
      const data = openCompiled(folder);
      const wantDocs = flags.row !== undefined || flags.id !== undefined;
      if (flags.stats || !wantDocs) process.stdout.write(statsView(data));
      if (!wantDocs) return;
      const tokenizerDir = flags.tokenizer ?? data.manifest.tokenizer.path;
      if (tokenizerDir === undefined) throw new KieloError(`${data.dir}/manifest.json records no tokenizer path`, { hint: "Pass --tokenizer." });
      const tokenizer = loadTokenizer(tokenizerDir);
      if (tokenizer.sha256 !== data.manifest.tokenizer.sha256) {
        throw new KieloError(`the tokenizer in ${tokenizer.dir} is not the one this data was compiled with (sha256 differs)`, {
          hint: "Pass --tokenizer with the folder used for kielo data compile.",
        });
      }
      const style: MarkStyle = (flags.color ?? Boolean(process.stdout.isTTY)) ? "ansi" : "brackets";
      const docs: number[] = [];
      if (flags.row !== undefined) {
        if (flags.row >= data.documentCount) throw new KieloError(`--row ${flags.row}: ${data.dir} has ${data.documentCount} documents (0–${data.documentCount - 1})`);
        docs.push(flags.row);
      }
      if (flags.id !== undefined) {
        const found = data.rows().flatMap((row, d) => (row.id === flags.id ? [d] : []));
        if (found.length === 0) throw new KieloError(`no document with id ${flags.id} in ${data.dir}`);
        docs.push(...found);
      }
      if (style === "brackets") process.stdout.write("(trained text is shown [[like this]]; everything else is masked)\n");
      for (const d of docs) process.stdout.write(await documentView(data, tokenizer.tokenizer, d, style));
    });
}
