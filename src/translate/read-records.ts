/** Reading a JSONL file of canonical records, with `file:line (field …)` in every error. */
import { RecordSchema, type KieloRecord } from "../data/records.ts";
import { readJsonl } from "../data/jsonl.ts";
import { InputError } from "../util/errors.ts";

export interface LocatedRecord {
  line: number;
  record: KieloRecord;
}

export async function readRecords(path: string): Promise<LocatedRecord[]> {
  const out: LocatedRecord[] = [];
  const seen = new Map<string, number>();
  for await (const { line, value } of readJsonl(path)) {
    const parsed = RecordSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("").replace(/^\./, "");
      throw new InputError(
        { file: path, line, ...(field ? { field } : {}) },
        `not a kielo record: ${issue.message}`,
        { hint: "records are {kind:'conversation',id,messages} or {kind:'preference',id,prompt,chosen,rejected} (docs/formats.md §1)" },
      );
    }
    const record = parsed.data as KieloRecord;
    const earlier = seen.get(record.id);
    if (earlier !== undefined) {
      throw new InputError({ file: path, line, field: "id" }, `duplicate id ${JSON.stringify(record.id)} (first on line ${earlier})`);
    }
    seen.set(record.id, line);
    out.push({ line, record });
  }
  return out;
}
