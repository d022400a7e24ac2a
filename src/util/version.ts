/** kielo's version, from its package.json (recorded in manifests, job folders and `--version`). */
import { readFileSync } from "node:fs";

let cached: string | undefined;

export function kieloVersion(): string {
  cached ??= (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  return cached;
}
