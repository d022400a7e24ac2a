/**
 * The data files textstat reads at run time, shipped in resources/textstat/ (see its SOURCES.md):
 * the CMU Pronouncing Dictionary, the Dale–Chall easy-word lists and Pyphen's hyphenation
 * dictionaries. Each is read once per process.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

export const TEXTSTAT_RESOURCES = fileURLToPath(new URL("../../../../resources/textstat", import.meta.url));

export function readGzip(name: string): Buffer {
  return gunzipSync(readFileSync(`${TEXTSTAT_RESOURCES}/${name}`));
}
