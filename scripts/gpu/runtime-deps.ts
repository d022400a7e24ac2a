/**
 * The npm packages kielo needs at run time, as folders relative to the repository root — what
 * `scripts/gpu/bundle.sh` packs for a GPU host that has no npm and no network.
 *
 * Read from package-lock.json (lockfile v2/v3 `packages`), starting at package.json's
 * `dependencies` and following each package's own `dependencies`, `optionalDependencies` and
 * non-optional `peerDependencies`. Dev dependencies are never reached from there. `node` (the pinned
 * Node binary, shipped separately as .gpu/node.xz) and whatever only it needs are left out.
 *
 * Written here rather than with `npm ls --omit=dev --parseable` because the bundle is built from
 * the lockfile alone, needs no npm, and must leave `node` out together with its own dependencies.
 *
 *   node scripts/gpu/runtime-deps.ts [repo root]   → one folder per line, sorted
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { KieloError } from "../../src/util/errors.ts";

interface LockPackage {
  version?: string;
  dev?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

interface Lockfile {
  lockfileVersion?: number;
  packages?: Record<string, LockPackage>;
}

/** Packages left out of the bundle: the Node binary travels on its own. */
export const EXCLUDED_PACKAGES: readonly string[] = ["node"];

/** The names a package needs installed next to it. */
function requiredNames(pkg: LockPackage): string[] {
  const peers = Object.keys(pkg.peerDependencies ?? {}).filter((name) => !pkg.peerDependenciesMeta?.[name]?.optional);
  return [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}), ...peers];
}

/**
 * Where npm installed `name` for the package at `from` (a lockfile key such as
 * `node_modules/a/node_modules/b`, or "" for the root): the nearest `node_modules/<name>` walking
 * up from it, as Node's resolver finds it.
 */
function resolveInstalled(packages: Record<string, LockPackage>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base === "" ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (packages[candidate] !== undefined) return candidate;
    if (base === "") return undefined;
    const at = base.lastIndexOf("/node_modules/");
    base = at < 0 ? "" : base.slice(0, at);
  }
}

/** The runtime package folders (lockfile keys, e.g. `node_modules/zod`), sorted. */
export function runtimePackageFolders(lock: Lockfile, lockPath = "package-lock.json"): string[] {
  const packages = lock.packages;
  if (!packages || packages[""] === undefined) {
    throw new KieloError(`${lockPath}: field \`packages\` is missing or has no root entry: expected an npm lockfile of version 2 or 3`);
  }
  const found = new Set<string>();
  const queue: { from: string; name: string }[] = requiredNames(packages[""])
    .filter((name) => !EXCLUDED_PACKAGES.includes(name))
    .map((name) => ({ from: "", name }));
  while (queue.length > 0) {
    const { from, name } = queue.shift()!;
    const folder = resolveInstalled(packages, from, name);
    if (folder === undefined) {
      const optional = from !== "" && (packages[from]?.optionalDependencies?.[name] !== undefined);
      if (optional) continue; // an optional dependency npm skipped on this platform
      throw new KieloError(`${lockPath}: ${from || "package.json"} needs \`${name}\`, which is not in the lockfile`, {
        hint: "Run `npm ci` so that node_modules and package-lock.json agree.",
      });
    }
    if (found.has(folder)) continue;
    found.add(folder);
    for (const dependency of requiredNames(packages[folder]!)) queue.push({ from: folder, name: dependency });
  }
  return [...found].sort();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? ".");
  const lockPath = join(root, "package-lock.json");
  const lock = JSON.parse(readFileSync(lockPath, "utf8")) as Lockfile;
  process.stdout.write(runtimePackageFolders(lock, lockPath).map((folder) => `${folder}\n`).join(""));
}
