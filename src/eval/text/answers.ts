/**
 * Reading answers to score: JSONL rows as `kielo generate` writes them (`{key, prompt, response}`),
 * IFEval response files (`{prompt, response}`), or rows with `answer` instead of `response`.
 * `key` or `id` names a row (else `line-N`); `prompt` may be missing (no copy-of-prompt or
 * relevance against it then).
 */
import { readJsonl } from "../../data/jsonl.ts";
import { InputError, KieloError } from "../../util/errors.ts";

export interface AnswerRow {
  key: string;
  prompt: string;
  answer: string;
}

export async function readAnswers(path: string): Promise<AnswerRow[]> {
  const rows: AnswerRow[] = [];
  const seen = new Set<string>();
  for await (const { line, value } of readJsonl(path)) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InputError({ file: path, line }, "expected a JSON object");
    const row = value as Record<string, unknown>;
    const keyValue = row["key"] ?? row["id"];
    const key = typeof keyValue === "string" || typeof keyValue === "number" ? String(keyValue) : `line-${line}`;
    if (seen.has(key)) throw new InputError({ file: path, line, field: "key" }, `duplicate key ${JSON.stringify(key)}`);
    seen.add(key);
    const field = "response" in row ? "response" : "answer";
    const answer = row[field];
    if (typeof answer !== "string") {
      throw new InputError({ file: path, line, field }, `expected the answer as a string in "response" (or "answer"), got ${describe(answer)}`);
    }
    const prompt = row["prompt"] ?? "";
    if (typeof prompt !== "string") throw new InputError({ file: path, line, field: "prompt" }, `expected a string, got ${describe(prompt)}`);
    rows.push({ key, prompt, answer });
  }
  if (rows.length === 0) throw new KieloError(`${path} holds no answers`, { hint: 'expected JSONL rows like {"key", "prompt", "response"} (kielo generate output)' });
  return rows;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  return Array.isArray(value) ? "a list" : `a ${typeof value}`;
}
