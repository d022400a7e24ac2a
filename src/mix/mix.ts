/**
 * Language mixes: all rows of a base file plus a seeded, nested share of an added file.
 *
 * Output order is stable, not shuffled: the base rows in file order, then the chosen added rows in
 * their file order. Shuffling belongs to training (the compiler's schedule has its own seed), and a
 * stable order makes a smaller mix literally a subsequence of a larger one, easy to check by eye.
 *
 * An added record whose id is already used by a base record (translated data usually keeps the
 * English ids) gets `#<lang>` appended (`#added` without a language); the manifest lists these.
 *
 * Next to each mix, `<name>.manifest.json` records the inputs (paths, sha256, row counts),
 * fraction, seed, rule and the chosen added rows (line and id).
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { openAtomicFile } from "../util/atomic.ts";
import { KieloError } from "../util/errors.ts";
import { Progress } from "../util/progress.ts";
import { readRecords } from "../data/records-file.ts";
import { checkFraction, chooseRows, mixOrder, percentLabel } from "./mix-selection.ts";

export interface MixSource {
  path: string;
  sha256: string;
  rows: number;
}

export interface MixManifest {
  format: "kielo-mix";
  version: 1;
  name: string;
  fraction: number;
  seed: number;
  rule: string;
  order: string;
  base: MixSource;
  add: MixSource;
  rows_out: number;
  base_rows: number;
  added_rows: number;
  /** The chosen rows of the added file: 1-based line and the id written to the mix. */
  chosen: { line: number; id: string }[];
  renamed_ids: { line: number; from: string; to: string }[];
  created_at: string;
}

export interface MixCommonOptions {
  base: string;
  add: string;
  seed: number;
  force?: boolean;
  quiet?: boolean;
}

const RULE = "k = round(fraction × added rows); the first k of a seeded permutation of the added rows (mulberry32 + Fisher–Yates, src/util/random.ts)";
const ORDER = "base rows in file order, then the chosen added rows in file order";

/** `mixes/en-fi-10pct.jsonl` → `mixes/en-fi-10pct.manifest.json`. */
export function manifestPathFor(out: string): string {
  return `${out.replace(/\.jsonl$/i, "")}.manifest.json`;
}

interface ScannedFile {
  source: MixSource;
  /** Record ids by 0-based row. */
  ids: string[];
  lines: number[];
  langs: (string | undefined)[];
}

async function scan(path: string): Promise<ScannedFile> {
  const ids: string[] = [];
  const lines: number[] = [];
  const langs: (string | undefined)[] = [];
  const seen = new Map<string, number>();
  for await (const { line, record } of readRecords(path)) {
    const first = seen.get(record.id);
    if (first !== undefined) throw new KieloError(`${path}:${line}: id "${record.id}" is already used on line ${first}`);
    seen.set(record.id, line);
    ids.push(record.id);
    lines.push(line);
    langs.push(record.lang);
  }
  if (ids.length === 0) throw new KieloError(`${path} holds no records`, { hint: "Check that it is the file you meant." });
  return { source: { path: resolve(path), sha256: await sha256File(path), rows: ids.length }, ids, lines, langs };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

interface Prepared {
  options: MixCommonOptions;
  base: ScannedFile;
  add: ScannedFile;
  order: number[];
}

async function prepare(options: MixCommonOptions): Promise<Prepared> {
  if (!Number.isSafeInteger(options.seed) || options.seed < 0) throw new KieloError(`--seed must be a non-negative integer, got ${options.seed}`);
  const base = await scan(options.base);
  const add = await scan(options.add);
  return { options, base, add, order: mixOrder(add.ids.length, options.seed) };
}

async function writeOne(prepared: Prepared, fraction: number, out: string, name: string): Promise<MixManifest> {
  const { base, add, options } = prepared;
  const manifestPath = manifestPathFor(out);
  if (!options.force && (existsSync(out) || existsSync(manifestPath))) {
    throw new KieloError(`${existsSync(out) ? out : manifestPath} already exists`, { hint: "Pass --force to replace it." });
  }
  const chosenRows = chooseRows(prepared.order, fraction);
  const baseIds = new Set(base.ids);
  const outIds = new Map<number, string>();
  const renamed: MixManifest["renamed_ids"] = [];
  const used = new Set(baseIds);
  for (const row of chosenRows) {
    let id = add.ids[row]!;
    if (baseIds.has(id)) {
      const to = `${id}#${add.langs[row] ?? "added"}`;
      renamed.push({ line: add.lines[row]!, from: id, to });
      id = to;
    }
    if (used.has(id)) throw new KieloError(`${options.add}:${add.lines[row]}: id "${id}" clashes with another record of the mix`);
    used.add(id);
    outIds.set(row, id);
  }

  const total = base.ids.length + chosenRows.length;
  const progress = new Progress(`mix ${name}`, { unit: "rows", total, quiet: options.quiet ?? false });
  const file = await openAtomicFile(out);
  try {
    for await (const { raw } of readRecords(options.base)) {
      await file.write(`${JSON.stringify(raw)}\n`);
      progress.tick();
    }
    let row = 0;
    for await (const { raw } of readRecords(options.add)) {
      const id = outIds.get(row);
      row++;
      if (id === undefined) continue;
      await file.write(`${JSON.stringify({ ...raw, id })}\n`);
      progress.tick();
    }
  } catch (error) {
    await file.abort();
    throw error;
  }
  const manifest: MixManifest = {
    format: "kielo-mix",
    version: 1,
    name,
    fraction,
    seed: options.seed,
    rule: RULE,
    order: ORDER,
    base: base.source,
    add: add.source,
    rows_out: total,
    base_rows: base.ids.length,
    added_rows: chosenRows.length,
    chosen: chosenRows.map((row) => ({ line: add.lines[row]!, id: outIds.get(row)! })),
    renamed_ids: renamed,
    created_at: new Date().toISOString(),
  };
  // The mix and its manifest land together (in one tick): an interrupt leaves both or neither, so a
  // re-run never meets a mix without its manifest and refuses it as "already exists".
  const manifestFile = await openAtomicFile(manifestPath);
  try {
    await manifestFile.write(`${JSON.stringify(manifest, null, 2)}\n`);
    const placeManifest = await manifestFile.ready();
    const placeMix = await file.ready();
    placeMix();
    placeManifest();
  } catch (error) {
    await Promise.all([file.abort(), manifestFile.abort()]);
    throw error;
  }
  progress.done();
  return manifest;
}

/** One mix: `--base en.jsonl --add fi.jsonl --fraction 0.1 --seed 42 --out en-fi-10pct.jsonl`. */
export async function writeMix(options: MixCommonOptions & { fraction: number; out: string }): Promise<MixManifest> {
  checkFraction(options.fraction);
  const prepared = await prepare(options);
  return writeOne(prepared, options.fraction, options.out, basename(options.out).replace(/\.jsonl$/i, ""));
}

/** A family of nested mixes: `<outDir>/<name>-<pct>pct.jsonl` for each fraction. */
export async function writeMixFamily(
  options: MixCommonOptions & { fractions: readonly number[]; outDir: string; name: string },
): Promise<MixManifest[]> {
  if (options.fractions.length === 0) throw new KieloError("--fractions: give at least one fraction, e.g. 0,0.1,0.2");
  for (const fraction of options.fractions) checkFraction(fraction, "--fractions");
  const labels = options.fractions.map(percentLabel);
  const duplicate = labels.find((label, i) => labels.indexOf(label) !== i);
  if (duplicate !== undefined) throw new KieloError(`--fractions lists ${duplicate} % twice`);
  // Check every target before writing any, so a refusal does not leave half a family.
  const targets = labels.map((label) => {
    const name = `${options.name}-${label}pct`;
    return { name, out: join(options.outDir, `${name}.jsonl`) };
  });
  if (!options.force) {
    for (const { out } of targets) {
      for (const path of [out, manifestPathFor(out)]) {
        if (existsSync(path)) throw new KieloError(`${path} already exists`, { hint: "Pass --force to replace it." });
      }
    }
  }
  const prepared = await prepare(options);
  const manifests: MixManifest[] = [];
  for (let i = 0; i < targets.length; i++) {
    manifests.push(await writeOne(prepared, options.fractions[i]!, targets[i]!.out, targets[i]!.name));
  }
  return manifests;
}
