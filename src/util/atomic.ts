/**
 * Atomic outputs: nothing half-written is ever left under the final name.
 *
 * Every output is written under a temporary sibling name (`.name.tmp-<host>-<pid>-<n>`) and renamed
 * into place only when complete. An error or Ctrl-C removes the temporary (exit handler); a process
 * killed outright (SIGKILL, power loss) leaves it, and the next run on the same output removes it:
 * the name says which host and process wrote it, and a process that no longer exists on this host
 * will not finish it. The final path either holds the previous complete output or the new one.
 *
 * File-system failures (no permission, a full disk, a folder where a file should be) become
 * KieloErrors naming the output the user asked for, not its temporary name.
 */
import { closeSync, constants, createWriteStream, existsSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeFile } from "node:fs";
import { access, mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { finished } from "node:stream/promises";
import { promisify } from "node:util";
import { isSystemError, KieloError, systemError } from "./errors.ts";
import { processAlive } from "./pid.ts";

const writeFd = promisify(writeFile);

let counter = 0;
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, "_") || "host";

/** A temporary path next to `target`, on the same filesystem so that rename is atomic. */
export function temporarySibling(target: string): string {
  counter += 1;
  return join(dirname(target), `.${basename(target)}.tmp-${HOST}-${process.pid}-${counter}`);
}

/** Temporary paths of this process, removed on exit or Ctrl-C if still there. */
const pending = new Set<string>();
let cleanupInstalled = false;

/**
 * Create a temporary path synchronously. Created asynchronously (in libuv's thread pool), it could
 * appear after Ctrl-C's exit handler removed what was pending, and outlive the process; created
 * here, it exists before any signal handler can run, and later writes go through the descriptor,
 * which never re-creates a removed path.
 */
function createTemporaryFile(tmp: string): number {
  pending.add(tmp);
  return openSync(tmp, "w");
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  // Synchronous on purpose: this runs while the process is exiting (also after Ctrl-C, which the
  // CLI turns into process.exit(130)). A leftover temporary name never looks like a complete output.
  process.on("exit", () => {
    for (const path of pending) rmSync(path, { recursive: true, force: true });
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Remove temporaries of `target` left by processes of this host that no longer run. Also the
 * older `.name.tmp-<pid>-<n>` names (without a host). Returns the paths removed.
 */
export function removeStaleTemporaries(target: string): string[] {
  const dir = dirname(target);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const pattern = new RegExp(`^\\.${escapeRegExp(basename(target))}\\.tmp-(?:(.+)-)?(\\d+)-(\\d+)(?:\\.old)?$`);
  const removed: string[] = [];
  for (const entry of entries) {
    const match = pattern.exec(entry);
    if (match === null) continue;
    const host = match[1];
    const pid = Number(match[2]);
    if (host !== undefined && host !== HOST) continue;
    if (pid === process.pid || processAlive(pid)) continue;
    const path = join(dir, entry);
    rmSync(path, { recursive: true, force: true });
    removed.push(path);
  }
  return removed;
}

/**
 * Turn a file-system failure while writing `target` (or its temporary `tmp`) into an error naming
 * `target`. Failures on other paths (an input read while building a folder) pass unchanged.
 */
function outputError(error: unknown, target: string, tmp?: string): unknown {
  if (error instanceof KieloError || !isSystemError(error)) return error;
  const paths = [error.path, (error as { dest?: unknown }).dest].filter((p): p is string => typeof p === "string");
  const ours = paths.length === 0 || paths.some((p) => p === target || p === dirname(target) || (tmp !== undefined && p.startsWith(tmp)) || target.startsWith(`${p}/`));
  return ours ? systemError(error, { action: "write", path: target }) : error;
}

/** Checks before writing a file: its folder can be made, and `target` is not a folder. */
async function prepareFileTarget(target: string): Promise<void> {
  if (existsSync(target) && statSync(target).isDirectory()) {
    throw new KieloError(`${target} is a folder; the output is a file`, { hint: "Give a file name for the output, e.g. out.jsonl." });
  }
  await makeParent(target);
  removeStaleTemporaries(target);
}

/** Create the folder of `target`; a file in the way is named as such. */
async function makeParent(target: string): Promise<void> {
  try {
    await mkdir(dirname(target), { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTDIR") {
      for (let dir = dirname(target); dir !== dirname(dir); dir = dirname(dir)) {
        if (existsSync(dir) && !statSync(dir).isDirectory()) {
          throw new KieloError(`cannot write ${target}: ${dir} is a file, not a folder`, { hint: "Choose another output path." });
        }
      }
    }
    throw outputError(error, target);
  }
}

/** Write a whole file atomically. */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await prepareFileTarget(target);
  const tmp = temporarySibling(target);
  installCleanup();
  try {
    const fd = createTemporaryFile(tmp);
    try {
      await writeFd(fd, data);
    } finally {
      closeSync(fd);
    }
    await rename(tmp, target);
  } catch (error) {
    throw outputError(error, target, tmp);
  } finally {
    pending.delete(tmp);
    await rm(tmp, { force: true });
  }
}

/** A streamed file written line by line and renamed into place by `commit()`. */
export interface AtomicFileWriter {
  readonly path: string;
  write(chunk: string | Uint8Array): Promise<void>;
  commit(): Promise<void>;
  /**
   * Everything but the rename: the file is complete on disk, and the returned function renames it
   * into place synchronously. Files that belong together (a mix and its manifest) call each one's
   * in the same tick, so Ctrl-C's handler, which runs between ticks, cannot leave one without the
   * other.
   */
  ready(): Promise<() => void>;
  abort(): Promise<void>;
}

export async function openAtomicFile(target: string): Promise<AtomicFileWriter> {
  await prepareFileTarget(target);
  const tmp = temporarySibling(target);
  installCleanup();
  let stream: ReturnType<typeof createWriteStream>;
  try {
    // Opened here, so that a refusal (permissions, a full disk) is an error of this call rather
    // than an 'error' event nobody listens to.
    stream = createWriteStream(tmp, { fd: createTemporaryFile(tmp) });
  } catch (error) {
    pending.delete(tmp);
    await rm(tmp, { force: true });
    throw outputError(error, target, tmp);
  }
  let failure: unknown;
  stream.on("error", (error) => {
    failure ??= error;
  });
  let done = false;
  let readied = false;
  const check = (): void => {
    if (failure !== undefined) throw outputError(failure, target, tmp);
  };
  return {
    path: target,
    async write(chunk) {
      check();
      if (!stream.write(chunk)) {
        await new Promise<void>((resolve) => {
          const settle = (): void => {
            stream.off("drain", settle);
            stream.off("error", settle);
            resolve();
          };
          stream.on("drain", settle);
          stream.on("error", settle);
        });
      }
      check();
    },
    async commit() {
      if (done) return;
      done = true;
      try {
        stream.end();
        await finished(stream);
        check();
        await rename(tmp, target);
      } catch (error) {
        stream.destroy();
        await rm(tmp, { force: true });
        throw outputError(error, target, tmp);
      } finally {
        pending.delete(tmp);
      }
    },
    async ready() {
      if (done) throw new Error(`${target}: already committed or aborted`);
      done = true;
      readied = true;
      try {
        stream.end();
        await finished(stream);
        check();
      } catch (error) {
        stream.destroy();
        pending.delete(tmp);
        await rm(tmp, { force: true });
        throw outputError(error, target, tmp);
      }
      return () => {
        readied = false;
        try {
          renameSync(tmp, target);
        } catch (error) {
          rmSync(tmp, { force: true });
          throw outputError(error, target, tmp);
        } finally {
          pending.delete(tmp);
        }
      };
    },
    async abort() {
      // After ready() the complete temporary waits for its rename: aborting removes it.
      if (done && !readied) return;
      done = true;
      readied = false;
      stream.destroy();
      pending.delete(tmp);
      await rm(tmp, { force: true });
    },
  };
}

function refuseFileForFolder(target: string): void {
  if (existsSync(target) && !statSync(target).isDirectory()) {
    throw new KieloError(`${target} is a file; the output is a folder`, { hint: "Give a folder name for the output, or remove the file." });
  }
}

/**
 * Checks before another process (the engine) builds the folder `target` atomically: `target` is
 * not a file, its parent folder can be made and written to, and temporaries of dead runs are
 * removed — so that a bad output path is said in kielo's words before the work, not as the
 * engine's traceback after it.
 */
export async function prepareFolderOutput(target: string): Promise<void> {
  refuseFileForFolder(target);
  await makeParent(target);
  try {
    await access(dirname(target), constants.W_OK);
  } catch (error) {
    throw outputError(error, target);
  }
  removeStaleTemporaries(target);
}

/**
 * Build a folder atomically: `build` fills a temporary folder, which then replaces `target`.
 * An existing `target` is replaced only after the new one is complete. `build` may return
 * "discard" to throw the new folder away and leave `target` as it was.
 */
export async function writeDirAtomic(target: string, build: (dir: string) => Promise<void | "discard">): Promise<void> {
  refuseFileForFolder(target);
  const tmp = temporarySibling(target);
  installCleanup();
  pending.add(tmp);
  const old = `${tmp}.old`;
  try {
    await makeParent(target);
    removeStaleTemporaries(target);
    mkdirSync(tmp, { recursive: true }); // synchronously: see createTemporaryFile
    if ((await build(tmp)) === "discard") return;
    pending.add(old);
    let hadOld = false;
    try {
      await rename(target, old);
      hadOld = true;
    } catch {
      // no previous output
    }
    await rename(tmp, target);
    if (hadOld) await rm(old, { recursive: true, force: true });
  } catch (error) {
    throw outputError(error, target, tmp);
  } finally {
    pending.delete(old);
    pending.delete(tmp);
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * A private working folder in the system's temporary folder, `kielo-<what>-<host>-<pid>-XXXXXX`,
 * removed on exit (also after Ctrl-C); call `remove` when done. Folders of earlier runs on this
 * host whose process no longer exists (killed outright) are removed first.
 */
export async function makeTempDir(what: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const root = tmpdir();
  const pattern = new RegExp(`^kielo-${escapeRegExp(what)}-(.+)-(\\d+)-[A-Za-z0-9]{6}$`);
  let entries: string[] = [];
  try {
    entries = readdirSync(root);
  } catch {
    // no temporary folder to sweep
  }
  for (const entry of entries) {
    const match = pattern.exec(entry);
    if (match === null || match[1] !== HOST) continue;
    const pid = Number(match[2]);
    if (pid !== process.pid && !processAlive(pid)) rmSync(join(root, entry), { recursive: true, force: true });
  }
  const dir = await mkdtemp(join(root, `kielo-${what}-${HOST}-${process.pid}-`));
  installCleanup();
  pending.add(dir);
  return {
    dir,
    async remove() {
      pending.delete(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
