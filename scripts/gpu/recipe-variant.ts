/**
 * A variant of a recipe, for the GPU scripts: `node scripts/gpu/recipe-variant.ts <recipe.yaml>
 * <out.yaml> key=value …`, each key a dotted path (`training.epochs=1`, `data.train=/abs/file`), each
 * value read as YAML (numbers and booleans stay numbers and booleans). The result is validated by
 * kielo's recipe schema and written with every path made absolute (resolved against the original
 * recipe's folder), so the variant works from any folder.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { parseRecipe } from "../../src/train/recipe.ts";

const [source, out, ...overrides] = process.argv.slice(2);
if (source === undefined || out === undefined) {
  process.stderr.write("usage: node scripts/gpu/recipe-variant.ts <recipe.yaml> <out.yaml> key=value …\n");
  process.exit(2);
}
const raw = parseYaml(readFileSync(source, "utf8")) as Record<string, unknown>;
for (const override of overrides) {
  const at = override.indexOf("=");
  if (at <= 0) {
    process.stderr.write(`recipe-variant: ${override}: expected key=value\n`);
    process.exit(2);
  }
  const path = override.slice(0, at).split(".");
  let node = raw;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1)!] = parseYaml(override.slice(at + 1)) as unknown;
}
// Validated and resolved against the original's folder; JSON is YAML.
writeFileSync(out, `${JSON.stringify(parseRecipe(raw, source), null, 2)}\n`);
