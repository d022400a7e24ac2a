/** Shared helpers for the data and mix tests: fixture paths, temporary folders, running adapters. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { getAdapter, Tally, type AdapterOptions } from "../../src/data/adapters/index.ts";
import type { KieloRecord } from "../../src/data/records.ts";
import { readRows } from "../../src/data/readers/index.ts";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const FIXTURES = join(REPO, "test", "fixtures", "data");

export function fixture(relative: string): string {
  return join(FIXTURES, relative);
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** A fresh temporary folder, removed by `cleanup`; `write` puts a file in it and returns its path. */
export function tempDir(): { dir: string; cleanup: () => void; write: (name: string, text: string) => string } {
  const dir = mkdtempSync(join(tmpdir(), "kielo-data-test-"));
  return {
    dir,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
    write(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
  };
}

export interface AdapterRun {
  records: KieloRecord[];
  dropped: Record<string, number>;
  notes: Record<string, number>;
}

/** Read `file` and run the named adapter over it, as `data convert` does (without writing). */
export async function runAdapter(format: string, file: string, options: Omit<AdapterOptions, "file"> = {}): Promise<AdapterRun> {
  const tally = new Tally();
  const records = await collect(getAdapter(format).convert(readRows(file), { file, tally, ...options }));
  return { records, dropped: Tally.toObject(tally.dropped), notes: Tally.toObject(tally.notes) };
}
