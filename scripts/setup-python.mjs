// Sets up the Python side: a virtual environment in .venv with the engine (editable) and the
// test-time reference implementations. Run by `npm run setup` after `npm ci`.
//
// Set KIELO_PYTHON to use an existing interpreter instead of creating .venv (e.g. on a GPU host
// whose system Python already has torch); then only the engine package is installed into it.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const venv = join(root, ".venv");

function run(cmd, args) {
  console.log(`$ ${cmd} ${args.join(" ")}`);
  const result = spawnSync(cmd, args, { stdio: "inherit", cwd: root });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    console.error(`setup: \`${cmd} ${args.join(" ")}\` failed with exit code ${result.status}`);
    process.exit(result.status ?? 1);
  }
}

const engineOnly = process.argv.includes("--engine-only");
let python = process.env.KIELO_PYTHON;
if (!python) {
  python = join(venv, "bin", "python");
  if (!existsSync(python)) {
    const base = process.env.PYTHON ?? "python3";
    run(base, ["-m", "venv", venv]);
  }
}
const pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "-q"];
if (engineOnly || process.env.KIELO_PYTHON) {
  run(pip[0], [...pip.slice(1), "-e", "engine"]);
} else {
  run(pip[0], [...pip.slice(1), "-r", "engine/requirements-test.txt"]);
  run(pip[0], [...pip.slice(1), "--no-deps", "-r", "engine/requirements-nodeps.txt"]);
  run(pip[0], [...pip.slice(1), "--no-deps", "-e", "engine"]);
}
console.log(`setup: Python environment ready (${python})`);
