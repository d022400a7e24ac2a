/** Canonical records from a JSONL file, validated, each with its line number for error messages. */
import { readJsonl } from "../data/jsonl.ts";
import { RecordSchema, type KieloRecord } from "../data/records.ts";
import { InputError } from "../util/errors.ts";

export interface LocatedRecord {
  line: number;
  record: KieloRecord;
}

export async function* readRecords(path: string): AsyncGenerator<LocatedRecord> {
  for await (const { line, value } of readJsonl(path)) {
    const parsed = RecordSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.length > 0 ? issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "") : undefined;
      throw new InputError(
        field === undefined ? { file: path, line } : { file: path, line, field },
        `not a kielo record: ${issue.message}`,
        { hint: "Convert source data to kielo records first: kielo data convert … (see docs/formats.md §1)." },
      );
    }
    yield { line, record: parsed.data as KieloRecord };
  }
}
