/**
 * The contract every format adapter fulfils: source rows in, canonical records out.
 *
 * An adapter sees the whole row stream (some formats need several rows for one record: OASST
 * message rows, HelpSteer2 response pairs) and reports every row it does not turn into a record
 * through `ctx.tally`, so `data convert` can say how many rows were dropped and why.
 */
import type { KieloRecord } from "../records.ts";
import type { SourceRow } from "../readers/index.ts";
import type { Tally } from "./tally.ts";

export interface AdapterOptions {
  /** The input path, as the user gave it (for error messages). */
  file: string;
  /** `--lang`: the language of the output; also picks `<field>_<lang>` columns where a source has them. */
  lang?: string;
  /** `--pairs`: emit preference pairs instead of conversations (formats that have both). */
  pairs?: boolean;
  /** `--column field=source`: read logical field `field` from column `source`. */
  columns?: Readonly<Record<string, string>>;
  /** `--id-prefix`: prepended (with `-`) to every record id, to keep ids unique across files. */
  idPrefix?: string;
}

export interface AdapterContext extends AdapterOptions {
  readonly tally: Tally;
}

export interface FormatAdapter {
  readonly name: string;
  /** One line for `--help`. */
  readonly description: string;
  /** Logical fields that `--column` may remap, with their default source columns. */
  readonly fields: readonly string[];
  /** Whether `--pairs` means something for this format. */
  readonly supportsPairs: boolean;
  convert(rows: AsyncIterable<SourceRow>, ctx: AdapterContext): AsyncGenerator<KieloRecord>;
}
