/**
 * Runs the Python reference side of the langid peer tests (`langdetect_peer.py`) once per request:
 * JSON in on stdin, JSON out on stdout, in the project's venv (or KIELO_PYTHON).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const python = process.env.KIELO_PYTHON ?? fileURLToPath(new URL("../../../.venv/bin/python", import.meta.url));
const script = fileURLToPath(new URL("./langdetect_peer.py", import.meta.url));

export function runPythonPeer<T>(request: Record<string, unknown>): T {
  const result = spawnSync(python, [script], {
    cwd: repoRoot,
    input: JSON.stringify(request),
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`python peer failed (${result.status}):\n${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

export const fixturesDir = fileURLToPath(new URL("../../fixtures/langid/", import.meta.url));
