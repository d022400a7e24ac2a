/**
 * The data sources of the cleaning benchmark, each a set of real translations shaped like
 * `kielo translate` output (target text, source kept in meta.translation), cleaned as its own file:
 *
 * - `fi-bench`: the project's original benchmark (DeepL Finnish of Dolly and oasst1, test/fixtures/translate);
 * - `fi-heldout`: other oasst1 and Dolly rows of ../shared that no fixture held before (test/fixtures/clean);
 * - `hi-gettext`, `ja-gettext`: English → Hindi / Japanese UI messages of Debian packages (gettext catalogs);
 * - `ja-mifeval`: Japanese M-IFEval prompts, written in Japanese (no source: only source-free rules apply).
 *
 * Real defects of the reference translations are found with independent plain checks and labelled
 * as their own types, not as clean rows.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Conversation } from "../../src/data/records.ts";
import { fencedCodeBlocks } from "../../src/text/fences.ts";
import type { CorruptionKind } from "./corrupt.ts";

export type Label = CorruptionKind | "code-block (real)" | "inline-code/URL (real)" | "format directive/tag (real)" | "untranslated (real)" | "none";

export interface Item {
  target: Conversation;
  label: Label;
}

export interface BenchSource {
  name: string;
  lang: string;
  /** Good rows (and rows with real defects), before corruption. */
  items: Item[];
  /** Corruptions that apply to this source (source-free data has no source to compare with). */
  kinds: readonly CorruptionKind[];
  /** Real text in other languages for wrong-language. Per item when the same message exists in other languages. */
  foreign: (item: Item) => readonly string[];
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function readLines<T>(path: string): T[] {
  return readFileSync(join(ROOT, path), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as T);
}

/** A translated conversation as `kielo translate` writes it. */
function translated(id: string, lang: string, english: { role: "user" | "assistant"; content: string }[], targets: string[]): Conversation {
  return {
    kind: "conversation",
    id,
    lang,
    messages: english.map((message, i) => ({ role: message.role, content: targets[i]! })),
    meta: { translation: { source_id: id, from: "en", to: lang, model: "reference", prompt_version: "-", source: { messages: english }, issues: [] } },
  };
}

/** Inline code or URLs of the English missing from the target: a real defect of the reference. */
export function lostVerbatimSpans(en: string, target: string): boolean {
  const prose = en.replace(/```[\s\S]*?```/g, " ");
  const spans = [...(prose.match(/`[^`\n]+`/g) ?? []), ...(prose.match(/https?:\/\/[^\s)\]]+[^\s.,;:!?)\]]/g) ?? [])];
  return spans.some((span) => !target.includes(span));
}

/**
 * A sentence or line of the English (6+ words of plain prose, no code marks) found verbatim in the
 * target: the reference translation left it untranslated.
 */
export function copiedSentence(en: string, target: string): boolean {
  const prose = en.replace(/```[\s\S]*?```/g, " ").replace(/\[\d+\]/g, "\n");
  const copied = prose
    .split(/(?<=[.!?])\s+|\n+/)
    .map((part) => part.trim())
    .filter((part) => part.split(/\s+/).length >= 3 && !/[_=<>{}\\/`]/.test(part) && target.includes(part));
  return copied.some((part) => part.split(/\s+/).length >= 6) || copied.length >= 3;
}

/** printf directives (`%s`, `%2$d`) or `<element>` names of the English that the target does not have as many of: a real defect of the reference. */
export function changedDirectives(en: string, target: string): boolean {
  const marks = (text: string) => (text.replace(/```[\s\S]*?```|`[^`\n]+`/g, " ").match(/%(?:\d+\$)?[a-z]|<\/?[a-z]+>/g) ?? []).map((mark) => mark.replace(/\d+\$/, "")).sort().join(" ");
  return marks(en) !== marks(target);
}

function realDefect(en: string, target: string): Label {
  if ((en === target && en.split(/\s+/).length >= 3) || copiedSentence(en, target)) return "untranslated (real)";
  if (lostVerbatimSpans(en, target)) return "inline-code/URL (real)";
  return changedDirectives(en, target) ? "format directive/tag (real)" : "none";
}

interface OasstRow { message_id: string; role: string; text: string; text_en: string }
interface DollyRow { id: string; instruction: string; context: string; response: string; instruction_fi: string; context_fi: string; response_fi: string }
interface GettextRow { domain: string; en: string; [lang: string]: string }

function dollyItems(rows: readonly DollyRow[]): Item[] {
  const user = (instruction: string, context: string) => (context === "" ? instruction : `${instruction}\n\n${context}`);
  return rows.map((row) => ({
    label: [row.instruction, row.context, row.response].some((en, i) => copiedSentence(en, [row.instruction_fi, row.context_fi, row.response_fi][i]!))
      ? "untranslated (real)"
      : [row.instruction, row.context, row.response].some((en, i) => lostVerbatimSpans(en, [row.instruction_fi, row.context_fi, row.response_fi][i]!))
        ? "inline-code/URL (real)"
        : "none",
    target: translated(
      row.id.replace(":", "-"),
      "fi",
      [
        { role: "user", content: user(row.instruction, row.context) },
        { role: "assistant", content: row.response },
      ],
      [user(row.instruction_fi, row.context_fi), row.response_fi],
    ),
  }));
}

function oasstItems(rows: readonly OasstRow[]): Item[] {
  return rows.map((row) => {
    const sameCode = JSON.stringify(fencedCodeBlocks(row.text_en).map((b) => b.trim())) === JSON.stringify(fencedCodeBlocks(row.text).map((b) => b.trim()));
    return {
      label: !sameCode ? "code-block (real)" : realDefect(row.text_en, row.text),
      target: translated(`oasst-${row.message_id}`, "fi", [{ role: row.role === "prompter" ? "user" : "assistant", content: row.text_en }], [row.text]),
    };
  });
}

const texts = (path: string) => readLines<{ text: string }>(path).map((row) => row.text);
const CASELESS = ["zh_CN", "th", "ar", "ko", "ru", "hi", "ja"];

export function loadSources(): BenchSource[] {
  const gettext = readLines<GettextRow>("test/fixtures/clean/gettext-pairs.jsonl");
  // Other scripts for Finnish targets: several UI messages of one package in one language, joined.
  const scriptTexts = CASELESS.flatMap((lang) => {
    const messages = gettext.map((row) => row[lang]).filter((text): text is string => text !== undefined && text.length >= 30);
    return Array.from({ length: 8 }, (_, i) => ({ lang, text: messages.slice(i * 4, i * 4 + 4).join(" ") }));
  });
  const otherScripts = scriptTexts.map((entry) => entry.text);
  const fiBenchForeign = [...texts("test/fixtures/translate/bench-other-languages.jsonl"), ...otherScripts];
  const fiHeldForeign = [...texts("test/fixtures/clean/heldout-other-languages.jsonl"), ...otherScripts];
  const allKinds = ["truncated", "untranslated", "repetition", "wrong-language", "scaffolding", "empty", "code-block", "misaligned"] as const;
  const gettextSource = (lang: "hi" | "ja"): BenchSource => ({
    name: `${lang}-gettext`,
    lang,
    kinds: allKinds.filter((kind) => kind !== "code-block"),
    items: gettext
      .filter((row) => row[lang] !== undefined)
      .map((row, i) => ({
        label: realDefect(row.en, row[lang]!),
        target: translated(`${row.domain}-${i}`, lang, [{ role: "user", content: row.en }], [row[lang]!]),
      })),
    // The same message in the other languages of the catalogs: real wrong-language output.
    foreign: (item) => {
      const en = (item.target.meta["translation"] as { source: { messages: { content: string }[] } }).source.messages[0]!.content;
      const row = gettext.find((candidate) => candidate.en === en)!;
      const same = CASELESS.filter((other) => other !== lang && row[other] !== undefined).map((other) => row[other]!);
      return same.length > 0 ? same : scriptTexts.filter((entry) => entry.lang !== lang).map((entry) => entry.text);
    },
  });
  const jaPrompts = readLines<{ key: number; text: string }>("test/fixtures/clean/ja-mifeval-prompts.jsonl");
  return [
    {
      name: "fi-bench",
      lang: "fi",
      kinds: allKinds,
      items: [
        ...dollyItems(readLines<DollyRow>("test/fixtures/translate/bench-dolly.jsonl")),
        ...oasstItems(readLines<OasstRow>("test/fixtures/translate/bench-oasst.jsonl")),
        ...oasstItems(readLines<OasstRow>("test/fixtures/translate/bench-oasst-code.jsonl")),
      ],
      foreign: () => fiBenchForeign,
    },
    {
      name: "fi-heldout",
      lang: "fi",
      kinds: allKinds,
      items: [
        ...dollyItems(readLines<DollyRow>("test/fixtures/clean/heldout-dolly.jsonl")),
        ...oasstItems(readLines<OasstRow>("test/fixtures/clean/heldout-oasst.jsonl")),
      ],
      foreign: () => fiHeldForeign,
    },
    gettextSource("hi"),
    gettextSource("ja"),
    {
      name: "ja-mifeval",
      lang: "ja",
      kinds: ["repetition", "wrong-language", "empty"],
      items: jaPrompts.map((row) => ({
        label: "none",
        target: { kind: "conversation", id: `ja-${row.key}`, lang: "ja", messages: [{ role: "user", content: row.text }], meta: {} },
      })),
      foreign: () => [...scriptTexts.filter((entry) => entry.lang !== "ja").map((entry) => entry.text), ...texts("test/fixtures/clean/heldout-other-languages.jsonl")],
    },
  ];
}

/**
 * Real catalogs no corruption is applied to (test/fixtures/clean/gettext-heldout.jsonl: Finnish
 * and Japanese from apt, coreutils, grep, sed, tar and wget; Hindi from gtk20-properties,
 * shared-mime-info and software-properties), each cleaned as a file: the good rows dropped on
 * translations as they come, terse command help included. Rows the plain checks find defective
 * are labelled as in the sources above.
 */
export function loadRealCatalogs(): { name: string; items: Item[] }[] {
  const rows = readLines<{ lang: string; en: string; target: string }>("test/fixtures/clean/gettext-heldout.jsonl");
  return ["fi", "ja", "hi"].map((lang) => ({
    name: `${lang}-catalogs`,
    items: rows
      .filter((row) => row.lang === lang)
      .map((row, i) => ({ label: realDefect(row.en, row.target), target: translated(`${lang}-heldout-${i}`, lang, [{ role: "user", content: row.en }], [row.target]) })),
  }));
}
