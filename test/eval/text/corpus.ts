/**
 * Real answers for the text-metric tests, from fixtures already in the repository (see each
 * folder's SOURCES.md): IFEval responses of GPT-4o and Qwen2.5-0.5B (M-IFEval), Dolly responses
 * in English and Finnish (databricks-dolly-15k, TurkuNLP's DeepL Finnish), OpenAssistant
 * assistant replies in English and Finnish (oasst1 validation), and real French and Spanish text
 * (M-IFEval's natively written prompts).
 */
import { readFileSync } from "node:fs";
import { brotliDecompressSync } from "node:zlib";

export interface CorpusText {
  source: string;
  lang: string;
  prompt: string;
  text: string;
}

const fixture = (path: string) => new URL(`../../fixtures/${path}`, import.meta.url);

function jsonl(path: string): Record<string, unknown>[] {
  const raw = path.endsWith(".br") ? brotliDecompressSync(readFileSync(fixture(path))).toString("utf8") : readFileSync(fixture(path), "utf8");
  return raw
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Up to `perSource` texts of each source (all when undefined). */
export function answerCorpus(perSource?: number): CorpusText[] {
  const take = <T>(rows: T[]) => (perSource === undefined ? rows : rows.slice(0, perSource));
  const out: CorpusText[] = [];
  for (const [model, file] of [
    ["gpt-4o", "ifeval/m-ifeval-gpt-4o-responses.jsonl.br"],
    ["qwen2.5-0.5b", "ifeval/m-ifeval-qwen2.5-0.5b-responses.jsonl.br"],
  ] as const) {
    for (const row of take(jsonl(file))) {
      out.push({ source: `ifeval-${model}`, lang: "en", prompt: String(row["prompt"]), text: String(row["response"]) });
    }
  }
  const dolly = take(jsonl("translate/bench-dolly.jsonl"));
  for (const row of dolly) out.push({ source: "dolly-en", lang: "en", prompt: String(row["instruction"]), text: String(row["response"]) });
  for (const row of dolly) out.push({ source: "dolly-fi", lang: "fi", prompt: String(row["instruction_fi"]), text: String(row["response_fi"]) });
  const oasst = jsonl("translate/bench-oasst.jsonl");
  const byId = new Map(oasst.map((row) => [String(row["message_id"]), row]));
  const replies = take(oasst.filter((row) => row["role"] === "assistant"));
  for (const row of replies) {
    const parent = byId.get(String(row["parent_id"]));
    out.push({ source: "oasst-en", lang: "en", prompt: String(parent?.["text_en"] ?? ""), text: String(row["text_en"]) });
    out.push({ source: "oasst-fi", lang: "fi", prompt: String(parent?.["text"] ?? ""), text: String(row["text"]) });
  }
  const other = jsonl("translate/bench-other-languages.jsonl");
  for (const lang of ["fr", "es"]) {
    for (const row of take(other.filter((r) => r["lang"] === lang))) {
      out.push({ source: `m-ifeval-prompt-${lang}`, lang, prompt: "", text: String(row["text"]) });
    }
  }
  return out;
}
