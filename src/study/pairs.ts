/**
 * Preference pairs from instruction records and a model's answers to the same prompts: the
 * record's own (human) reply is chosen, the model's answer rejected. This is how a study gets
 * target-language pairs when none exist: real replies against the base model's own attempt.
 */
import { writeFileAtomic } from "../util/atomic.ts";
import { InputError, KieloError } from "../util/errors.ts";
import { readJsonl } from "../data/jsonl.ts";

interface Message {
  role: string;
  content: string;
}

export async function buildPairs(recordsFile: string, answersFile: string, lang: string, out: string): Promise<number> {
  const answers = new Map<string, string>();
  for await (const { line, value } of readJsonl(answersFile)) {
    const row = value as { key?: unknown; response?: unknown };
    if (typeof row.key !== "string" || typeof row.response !== "string") throw new InputError({ file: answersFile, line }, "expected {key, response}");
    answers.set(row.key, row.response);
  }
  const pairs: string[] = [];
  let skipped = 0;
  for await (const { line, value } of readJsonl(recordsFile)) {
    const record = value as { id?: unknown; messages?: Message[] };
    if (!Array.isArray(record.messages)) throw new InputError({ file: recordsFile, line, field: "messages" }, "expected a conversation record");
    const messages = [...record.messages];
    const last = messages.pop();
    const key = typeof record.id === "string" || typeof record.id === "number" ? String(record.id) : `line-${line}`;
    const rejected = answers.get(key)?.trim();
    if (last?.role !== "assistant" || rejected === undefined || rejected === "" || rejected === last.content.trim()) {
      skipped++;
      continue;
    }
    pairs.push(JSON.stringify({ kind: "preference", id: `pair-${key}`, lang, prompt: messages, chosen: last.content, rejected, meta: { chosen: "human", rejected: "base model" } }));
  }
  if (pairs.length === 0) throw new KieloError(`no pairs from ${recordsFile} and ${answersFile} (${skipped} records without a usable answer)`);
  await writeFileAtomic(out, `${pairs.join("\n")}\n`);
  process.stdout.write(`${pairs.length} pairs → ${out} (${skipped} skipped)\n`);
  return pairs.length;
}
