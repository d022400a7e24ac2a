// Runs the project's Python (KIELO_PYTHON, else .venv) with the given arguments.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const python = process.env.KIELO_PYTHON ?? join(root, ".venv", "bin", "python");
if (!existsSync(python) && !process.env.KIELO_PYTHON) {
  console.error("No Python environment: run `npm run setup` first (or set KIELO_PYTHON).");
  process.exit(1);
}
const result = spawnSync(python, process.argv.slice(2), { stdio: "inherit", cwd: root });
process.exit(result.status ?? 1);
