/**
 * Recipe overrides on the command line: `--set training.lr=1e-4 --set data.train=[a.jsonl,b.jsonl]`.
 * The value is read as YAML (numbers, booleans, lists, `null` as in a recipe file) and put at the
 * dotted path of the recipe before it is validated, so the schema checks it like any value in the
 * file. Relative paths given this way are relative to the recipe file, like the file's own.
 */
import { parse as parseYaml } from "yaml";
import { KieloError } from "../util/errors.ts";

export interface Override {
  /** The option as given, for messages. */
  text: string;
  path: string[];
  value: unknown;
}

export function parseOverride(text: string): Override {
  const match = /^([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)=(.*)$/s.exec(text);
  if (match === null) {
    throw new KieloError(`--set ${text}: expected field.path=value, e.g. --set training.lr=1e-4`);
  }
  let value: unknown;
  try {
    value = parseYaml(match[2]!);
  } catch (error) {
    throw new KieloError(`--set ${text}: the value is not valid YAML (${(error as Error).message.split("\n")[0]})`);
  }
  return { text, path: match[1]!.split("."), value: value === undefined ? null : value };
}

/** A copy of `raw` with every override applied in order (later ones win). */
export function applyOverrides(raw: unknown, overrides: readonly Override[]): unknown {
  if (overrides.length === 0) return raw;
  const root: Record<string, unknown> = raw !== null && typeof raw === "object" && !Array.isArray(raw) ? structuredClone(raw as Record<string, unknown>) : {};
  for (const { text, path, value } of overrides) {
    let node: Record<string, unknown> = root;
    for (const [i, key] of path.slice(0, -1).entries()) {
      const next = node[key];
      if (next === undefined || next === null) node[key] = {};
      else if (typeof next !== "object" || Array.isArray(next)) {
        throw new KieloError(`--set ${text}: ${path.slice(0, i + 1).join(".")} is not a section of the recipe (it holds ${JSON.stringify(next)})`);
      }
      node = node[key] as Record<string, unknown>;
    }
    node[path.at(-1)!] = value;
  }
  return root;
}
