/**
 * The real rows of test/fixtures/translate as kielo records: English sources and their reference
 * Finnish (DeepL), with the same ids and structure, plus the English→Finnish text pairs the
 * loopback server answers with.
 */
import { readFileSync } from "node:fs";
import type { KieloRecord } from "../../../src/data/records.ts";

export const FIXTURES = new URL("../../fixtures/translate/", import.meta.url);

interface OasstRow { message_id: string; parent_id: string | null; role: string; rank: number | null; text: string; text_en: string }
interface DollyRow { id: string; instruction: string; context: string; response: string; instruction_fi: string; context_fi: string; response_fi: string }

function readLines<T>(name: string): T[] {
  return readFileSync(new URL(name, FIXTURES), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as T);
}

export interface FixtureSet {
  english: KieloRecord[];
  finnish: KieloRecord[];
  /** Every English text with its Finnish reference. */
  pairs: { en: string; fi: string }[];
}

function dollyUser(instruction: string, context: string): string {
  return context === "" ? instruction : `${instruction}\n\n${context}`;
}

export function loadFixtureSet(): FixtureSet {
  const english: KieloRecord[] = [];
  const finnish: KieloRecord[] = [];
  const pairs: { en: string; fi: string }[] = [];
  const oasst = readLines<OasstRow>("oasst1-fi-aligned.jsonl");
  const children = new Map<string, OasstRow[]>();
  for (const row of oasst) {
    if (row.parent_id === null || row.role !== "assistant") continue;
    children.set(row.parent_id, [...(children.get(row.parent_id) ?? []), row]);
  }
  for (const row of oasst) {
    pairs.push({ en: row.text_en, fi: row.text });
    if (row.role !== "prompter") continue;
    const replies = (children.get(row.message_id) ?? []).sort((a, b) => (a.rank ?? 0) - (b.rank ?? 0));
    const id = `oasst-${row.message_id}`;
    if (replies.length >= 2) {
      const [chosen, rejected] = replies as [OasstRow, OasstRow];
      english.push({ kind: "preference", id, lang: "en", prompt: [{ role: "user", content: row.text_en }], chosen: chosen.text_en, rejected: rejected.text_en, meta: {} });
      finnish.push({ kind: "preference", id, lang: "fi", prompt: [{ role: "user", content: row.text }], chosen: chosen.text, rejected: rejected.text, meta: {} });
    } else if (replies.length === 1) {
      const reply = replies[0]!;
      english.push({ kind: "conversation", id, lang: "en", messages: [{ role: "user", content: row.text_en }, { role: "assistant", content: reply.text_en }], meta: {} });
      finnish.push({ kind: "conversation", id, lang: "fi", messages: [{ role: "user", content: row.text }, { role: "assistant", content: reply.text }], meta: {} });
    }
  }
  for (const row of readLines<DollyRow>("dolly-fi-aligned.jsonl")) {
    const id = row.id.replace(":", "-");
    english.push({ kind: "conversation", id, lang: "en", messages: [{ role: "user", content: dollyUser(row.instruction, row.context) }, { role: "assistant", content: row.response }], meta: {} });
    finnish.push({ kind: "conversation", id, lang: "fi", messages: [{ role: "user", content: dollyUser(row.instruction_fi, row.context_fi) }, { role: "assistant", content: row.response_fi }], meta: {} });
    pairs.push({ en: row.instruction, fi: row.instruction_fi }, { en: row.context, fi: row.context_fi }, { en: row.response, fi: row.response_fi });
  }
  return { english, finnish, pairs };
}
