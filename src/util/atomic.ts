/**
 * Atomic outputs: nothing half-written is ever left under the final name.
 *
 * Every output is written under a temporary sibling name (`.name.tmp-<pid>-<n>`) and renamed into
 * place only when complete. A crash or Ctrl-C leaves at most a temporary file or folder, which
 * the next run removes or ignores; the final path either holds the previous complete output or the
 * new complete output.
 */
import { createWriteStream, rmSync, type WriteStream } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { finished } from "node:stream/promises";

let counter = 0;

/** A temporary path next to `target`, on the same filesystem so that rename is atomic. */
export function temporarySibling(target: string): string {
  counter += 1;
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${counter}`);
}

/** Temporary paths of this process, removed on exit or Ctrl-C if still there. */
const pending = new Set<string>();
let cleanupInstalled = false;

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  // Synchronous on purpose: this runs while the process is exiting (also after Ctrl-C, which the
  // CLI turns into process.exit(130)). A leftover temporary name never looks like a complete output.
  process.on("exit", () => {
    for (const path of pending) rmSync(path, { recursive: true, force: true });
  });
}

/** Write a whole file atomically. */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const tmp = temporarySibling(target);
  installCleanup();
  pending.add(tmp);
  try {
    await writeFile(tmp, data);
    await rename(tmp, target);
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
  abort(): Promise<void>;
}

export async function openAtomicFile(target: string): Promise<AtomicFileWriter> {
  await mkdir(dirname(target), { recursive: true });
  const tmp = temporarySibling(target);
  installCleanup();
  pending.add(tmp);
  const stream: WriteStream = createWriteStream(tmp);
  let done = false;
  return {
    path: target,
    async write(chunk) {
      if (!stream.write(chunk)) await new Promise<void>((resolve) => stream.once("drain", resolve));
    },
    async commit() {
      if (done) return;
      done = true;
      stream.end();
      await finished(stream);
      await rename(tmp, target);
      pending.delete(tmp);
    },
    async abort() {
      if (done) return;
      done = true;
      // Writes still in flight fail with ERR_STREAM_DESTROYED once the stream is destroyed; that
      // is expected here (the file is being thrown away) and must not surface as an uncaught error.
      stream.on("error", () => {});
      stream.destroy();
      pending.delete(tmp);
      await rm(tmp, { force: true });
    },
  };
}

/**
 * Build a folder atomically: `build` fills a temporary folder, which then replaces `target`.
 * An existing `target` is replaced only after the new one is complete.
 */
export async function writeDirAtomic(target: string, build: (dir: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const tmp = temporarySibling(target);
  installCleanup();
  pending.add(tmp);
  try {
    await mkdir(tmp, { recursive: true });
    await build(tmp);
    const old = `${tmp}.old`;
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
    pending.delete(old);
  } finally {
    pending.delete(tmp);
    await rm(tmp, { recursive: true, force: true });
  }
}
