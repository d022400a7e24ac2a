/** `kielo doctor`: finds Node, Python, the engine, torch, CUDA and GPUs, and says what is missing. */
import { spawnSync } from "node:child_process";
import type { Command } from "commander";
import { engineEnv, findPython } from "../../engine/python.ts";

interface Check {
  ok: boolean;
  label: string;
  detail: string;
  hint?: string;
}

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description("check the environment: Node, Python, the engine and its packages, CUDA and GPUs")
    .option("--python <path>", "Python interpreter to check (default: KIELO_PYTHON, kielo.yaml, .venv, python3)")
    .option("--json", "print the findings as JSON")
    .action((options: { python?: string; json?: boolean }) => {
      const checks = runChecks(options.python);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
      } else {
        for (const check of checks) {
          process.stdout.write(`${check.ok ? "✓" : "✗"} ${check.label}: ${check.detail}\n`);
          if (!check.ok && check.hint) process.stdout.write(`    → ${check.hint}\n`);
        }
      }
      if (checks.some((check) => !check.ok && check.label !== "GPU")) process.exitCode = 1;
    });
}

function runChecks(explicitPython?: string): Check[] {
  const checks: Check[] = [];
  const [major, minor] = process.versions.node.split(".").map(Number) as [number, number];
  checks.push({
    ok: major > 22 || (major === 22 && minor >= 18),
    label: "Node",
    detail: `${process.version} (${process.execPath})`,
    hint: "kielo needs Node >= 22.18; `npm ci` installs a pinned one into node_modules.",
  });

  const python = findPython(explicitPython);
  const version = spawnSync(python.path, ["-c", "import sys; print(sys.version.split()[0])"], { encoding: "utf8" });
  if (version.error || version.status !== 0) {
    checks.push({
      ok: false,
      label: "Python",
      detail: `${python.path} (from ${python.source}) does not run`,
      hint: "Run `npm run setup`, or set KIELO_PYTHON to a Python >= 3.10.",
    });
    return checks;
  }
  checks.push({ ok: true, label: "Python", detail: `${version.stdout.trim()} at ${python.path} (from ${python.source})` });

  const probe = spawnSync(python.path, ["-m", "kielo_engine", "check"], { encoding: "utf8", env: engineEnv() });
  let facts: Record<string, unknown> | undefined;
  try {
    facts = JSON.parse(probe.stdout.trim().split("\n").at(-1) ?? "") as Record<string, unknown>;
  } catch {
    facts = undefined;
  }
  if (!facts) {
    checks.push({
      ok: false,
      label: "engine",
      detail: `\`python -m kielo_engine check\` failed: ${(probe.stderr || probe.stdout).trim().split("\n").at(-1) ?? "no output"}`,
      hint: "Install the engine's packages: `npm run setup` (or `pip install -e engine` in your environment).",
    });
    return checks;
  }
  checks.push({ ok: true, label: "engine", detail: `kielo_engine ${String(facts["engine_version"] ?? "?")}` });
  for (const name of ["torch", "transformers", "peft", "safetensors"]) {
    const value = facts[name];
    checks.push({
      ok: typeof value === "string",
      label: name,
      detail: typeof value === "string" ? value : "not installed",
      hint: `pip install ${name} (or \`npm run setup\`)`,
    });
  }
  for (const name of ["triton", "bitsandbytes", "gguf"]) {
    const value = facts[name];
    const use = name === "gguf" ? ", needed only by `kielo model import`" : "";
    checks.push({ ok: true, label: `${name} (optional${use})`, detail: typeof value === "string" ? value : "not installed" });
  }
  const gpus = Array.isArray(facts["gpus"]) ? (facts["gpus"] as unknown[]) : [];
  checks.push({
    ok: gpus.length > 0,
    label: "GPU",
    detail:
      gpus.length > 0
        ? `${gpus.length} × ${gpus.map((gpu) => describeGpu(gpu)).join(", ")} (CUDA ${String(facts["cuda_version"] ?? "?")})`
        : "none found: training runs on the CPU (fine for the tiny test model, far too slow for real ones)",
  });
  return checks;
}

function describeGpu(gpu: unknown): string {
  if (gpu && typeof gpu === "object") {
    const { name, memory_bytes } = gpu as { name?: unknown; memory_bytes?: unknown };
    const memory = typeof memory_bytes === "number" ? ` ${(memory_bytes / 2 ** 30).toFixed(0)} GiB` : "";
    return `${String(name ?? "GPU")}${memory}`;
  }
  return String(gpu);
}
