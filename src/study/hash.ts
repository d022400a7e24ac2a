/**
 * Content addressing of study steps. A step's hash covers its command (with the work dir written
 * as `$WORK`, so a moved study keeps its hashes), the content of its input files, and the hashes of
 * the steps it depends on — so changing one β changes that DPO step's hash and, through it, the
 * hashes of everything downstream, and nothing else.
 */
import { createHash } from "node:crypto";
import { createReadStream, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { PlanStep } from "./plan.ts";

/** Files above this size are hashed by size and modification time, not content (model weights). */
const CONTENT_LIMIT = 64 * 2 ** 20;

const fileCache = new Map<string, string>();

async function fileHash(path: string): Promise<string> {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return "missing";
  const key = `${path}\0${stat.size}\0${stat.mtimeMs}`;
  const cached = fileCache.get(key);
  if (cached !== undefined) return cached;
  let digest: string;
  if (stat.isDirectory()) {
    const hash = createHash("sha256");
    for (const entry of readdirSync(path).sort()) hash.update(`${entry}\0${await fileHash(join(path, entry))}\n`);
    digest = hash.digest("hex");
  } else if (stat.size > CONTENT_LIMIT) {
    digest = `size:${stat.size}:mtime:${Math.floor(stat.mtimeMs)}`;
  } else {
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    digest = hash.digest("hex");
  }
  fileCache.set(key, digest);
  return digest;
}

/** Hashes of every step, in plan order (dependencies come first). */
export async function hashSteps(steps: readonly PlanStep[], workDir: string): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  const relative = (arg: string) => arg.split(workDir).join("$WORK");
  for (const step of steps) {
    const hash = createHash("sha256");
    hash.update(JSON.stringify({ kind: step.kind, args: step.args.map(relative) }));
    // A file in the work dir is another step's output: that step's hash stands for its content
    // (hashing the file would change the hash once the file exists).
    for (const input of step.inputs) if (!input.startsWith(workDir)) hash.update(`\ninput ${input} ${await fileHash(input)}`);
    for (const dep of step.deps) hash.update(`\ndep ${dep} ${hashes.get(dep)}`);
    hashes.set(step.id, hash.digest("hex").slice(0, 16));
  }
  return hashes;
}
