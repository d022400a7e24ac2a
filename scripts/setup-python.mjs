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

const LIGER = "liger-kernel==0.8.5";
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
// On a machine with an NVIDIA GPU, Liger's fused Triton kernels (RMSNorm, RoPE, SwiGLU): the engine
// uses them when installed (engine/kielo_engine/kernels.py; 1.3× LoRA 7B tokens/s on an H100,
// docs/measurements/2026-12-06-h100-bench-speed-2.txt). They need CUDA, so nowhere else; --no-deps
// because torch and triton are there already and must not move. Optional: a failure only warns.
const gpus = spawnSync("nvidia-smi", ["-L"], { encoding: "utf8" });
if (gpus.status === 0 && /^GPU \d+:/m.test(gpus.stdout ?? "")) {
  const liger = spawnSync(pip[0], [...pip.slice(1), "--no-deps", LIGER], { stdio: "inherit", cwd: root });
  if (liger.status !== 0) console.warn(`setup: ${LIGER} could not be installed; training on the GPU runs with PyTorch's own element-wise ops (slower)`);
}
console.log(`setup: Python environment ready (${python})`);
