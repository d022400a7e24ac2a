/**
 * Short texts and the wrong-language rule (`npm run bench:clean -- --short`): below
 * `language.min_letters` a text is not language-checked, because language-ID on a few words is
 * unreliable. This measures the trade-off on real text: short good Finnish fields (held-out oasst1
 * and Dolly) against the same fields replaced by a short real French or Spanish sentence (M-IFEval
 * prompts), for several thresholds.
 */
import { loadCleanConfig } from "../../src/clean/config.ts";
import { RULE_FUNCTIONS } from "../../src/clean/rules.ts";
import { letterWeight } from "../../src/text/scripts.ts";
import { loadSources } from "./sources.ts";

export interface ShortRow {
  minLetters: number;
  good: number;
  goodFlagged: number;
  foreign: number;
  foreignCaught: number;
}

function sentencesOf(text: string): string[] {
  return text.split(/(?<=[.!?])\s+/).map((part) => part.trim()).filter((part) => part !== "");
}

export function shortTextSweep(thresholds: readonly number[] = [20, 30, 40, 50, 60]): ShortRow[] {
  const sources = loadSources().filter((source) => source.name === "fi-heldout");
  const texts = sources.flatMap((source) => source.items.filter((item) => item.label === "none").flatMap((item) => item.target.messages.map((message) => message.content)));
  const short = texts.filter((text) => letterWeight(text) >= 15 && letterWeight(text) < 90);
  const foreign = sources
    .flatMap((source) => [...source.foreign({ label: "none", target: { kind: "conversation", id: "-", lang: "fi", messages: [], meta: {} } })])
    .filter((text) => /^[\p{Script=Latin}\P{L}]*$/u.test(text))
    .flatMap(sentencesOf)
    .filter((text) => letterWeight(text) >= 15 && letterWeight(text) < 90);
  return thresholds.map((minLetters) => {
    const config = loadCleanConfig();
    config.language.min_letters = minLetters;
    const flagged = (target: string) =>
      RULE_FUNCTIONS["wrong-language"](
        { path: "text", target, source: undefined, targetLang: "fi", sourceLang: "en", bounds: undefined, alignment: undefined, translatorIssues: [], scaffolding: [] },
        config,
      ).length > 0;
    return {
      minLetters,
      good: short.length,
      goodFlagged: short.filter(flagged).length,
      foreign: foreign.length,
      foreignCaught: foreign.filter(flagged).length,
    };
  });
}

export function formatShort(rows: readonly ShortRow[]): string {
  return [
    "short texts (15–89 letters), wrong-language rule by language.min_letters:",
    ...rows.map(
      (row) =>
        `  min_letters ${String(row.minLetters).padStart(2)}: good Finnish flagged ${row.goodFlagged}/${row.good} (${((100 * row.goodFlagged) / row.good).toFixed(1)} %), ` +
        `French/Spanish caught ${row.foreignCaught}/${row.foreign} (${((100 * row.foreignCaught) / row.foreign).toFixed(1)} %)`,
    ),
  ].join("\n");
}
