/** Running the real `kielo` binary for the bad-input suite and the kill matrix. */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../../", import.meta.url));
export const bin = join(root, "bin/kielo.js");
export const tinyModel = join(root, "fixtures/models/stories260K/hf");
export const qwen3 = join(root, "fixtures/tokenizers/qwen3");
export const examples = join(root, "examples/tiny-train");
export const dataFixtures = join(root, "test/fixtures/data");

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Run as this user (for an unwritable folder when the tests run as root). */
  uid?: number;
  gid?: number;
}

export function start(args: readonly string[], options: RunOptions = {}): ChildProcess {
  return spawn(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? root,
    env: { ...process.env, OMP_NUM_THREADS: "1", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid ?? options.uid } : {}),
  });
}

export function finish(child: ChildProcess): Promise<Result> {
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
}

export function kielo(args: readonly string[], options: RunOptions = {}): Promise<Result> {
  return finish(start(args, options));
}

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `kielo-${name}-`));
}

/** Temporaries kielo could leave in `dir` (recursively): `.x.tmp-…` files and folders. */
export function temporaries(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (/\.tmp-/.test(entry)) out.push(path);
    else if (statSync(path).isDirectory()) out.push(...temporaries(path));
  }
  return out;
}

/** Processes whose command line contains `needle` (from /proc), other than this one. */
export function processesWith(needle: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSyncSafe(join("/proc", entry, "cmdline"));
      const state = readFileSyncSafe(join("/proc", entry, "stat")).split(")").at(-1)?.trim().split(" ")[0];
      if (cmdline.includes(needle) && state !== "Z") out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function readFileSyncSafe(path: string): string {
  return readFileSync(path, "utf8").replaceAll("\0", " ");
}
