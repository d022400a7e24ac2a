/**
 * `kielo train --report-to`: where the engine writes training curves besides kielo.db
 * (engine/kielo_engine/reporting.py). Each target is a Python package of the engine's interpreter;
 * one asked for but not installed is refused before the training starts, with the install command.
 */
import { spawnSync } from "node:child_process";
import { engineEnv, type PythonChoice } from "../engine/python.ts";
import { KieloError } from "../util/errors.ts";

export const REPORT_TARGETS = ["tensorboard", "wandb", "mlflow", "none"] as const;

/** The modules that serve a target, any one of them enough. */
const MODULES: Record<string, string[]> = { tensorboard: ["tensorboard", "tensorboardX"], wandb: ["wandb"], mlflow: ["mlflow"] };

/** Commander's parser of the option's value. */
export function reportTargets(value: string): string[] {
  const targets = value.split(",").map((t) => t.trim()).filter(Boolean);
  for (const target of targets) {
    if (!(REPORT_TARGETS as readonly string[]).includes(target)) {
      throw new KieloError(`--report-to: unknown target "${target}"`, { hint: `Use one or more of ${REPORT_TARGETS.join(", ")}, comma-separated.` });
    }
  }
  if (targets.length === 0) throw new KieloError("--report-to: no target given", { hint: `Use one or more of ${REPORT_TARGETS.join(", ")}.` });
  if (targets.includes("none") && targets.length > 1) throw new KieloError("--report-to: `none` cannot be combined with other targets");
  return targets;
}

/** Refuse targets whose package the engine's Python does not have. */
export function checkReportTargets(python: PythonChoice, targets: readonly string[]): void {
  for (const target of targets) {
    const modules = MODULES[target];
    if (modules === undefined) continue;
    const probe = `import importlib.util, sys; sys.exit(0 if any(importlib.util.find_spec(m) for m in ${JSON.stringify(modules)}) else 3)`;
    const result = spawnSync(python.path, ["-c", probe], { env: engineEnv(), encoding: "utf8" });
    if (result.status === 0) continue;
    if (result.status === 3) {
      throw new KieloError(`--report-to ${target}: the engine's Python (${python.path}) does not have ${modules.join(" or ")}`, {
        hint: `Install it there (\`${python.path} -m pip install ${modules[0]}\`), or leave ${target} out of --report-to.`,
      });
    }
    throw new KieloError(`--report-to ${target}: could not run ${python.path} (from ${python.source}) to check it: ${result.error?.message ?? result.stderr.trim()}`);
  }
}
