/** textstat's Dale–Chall easy-word lists (`get_lang_easy_words`): English and Spanish; other languages use English's. */
import { readGzip } from "./resources.ts";

const lists = new Map<string, ReadonlySet<string>>();

export function easyWordsFor(root: string): ReadonlySet<string> {
  const name = root === "es" ? "es" : "en";
  let set = lists.get(name);
  if (set === undefined) {
    set = new Set(readGzip(`easy_words.${name}.txt.gz`).toString("utf8").split("\n").map((line) => line.trim()));
    lists.set(name, set);
  }
  return set;
}
