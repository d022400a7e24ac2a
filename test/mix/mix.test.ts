import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, describe, test } from "node:test";
import { convertFile } from "../../src/data/convert.ts";
import { chooseRows, mixCount, mixOrder, percentLabel } from "../../src/mix/mix-selection.ts";
import { manifestPathFor, writeMix, writeMixFamily, type MixManifest } from "../../src/mix/mix.ts";
import { fixture, REPO, tempDir } from "../data/helpers.ts";

const tmp = tempDir();
after(tmp.cleanup);
const EN = join(tmp.dir, "dolly-en.jsonl");
const FI = join(tmp.dir, "dolly-fi.jsonl");
const OASST = join(tmp.dir, "oasst-en.jsonl");
const MANY = join(tmp.dir, "many.jsonl");

before(async () => {
  // Real records: the same 8 Dolly rows in English and in Finnish (same ids), and OASST conversations.
  await convertFile({ input: fixture("dolly/dolly_en_fi_first8.jsonl"), format: "dolly", lang: "en", out: EN, quiet: true });
  await convertFile({ input: fixture("dolly/dolly_en_fi_first8.jsonl"), format: "dolly", lang: "fi", out: FI, quiet: true });
  await convertFile({ input: fixture("oasst/en_tree_sample.jsonl"), format: "oasst", out: OASST, quiet: true });
  // 1,000 small records, enough for the nesting property to mean something.
  const lines = Array.from({ length: 1000 }, (_, i) =>
    JSON.stringify({ kind: "conversation", id: `fi-${i}`, lang: "fi", messages: [{ role: "user", content: `Kysymys ${i}` }, { role: "assistant", content: `Vastaus ${i}` }], meta: {} }),
  );
  writeFileSync(MANY, `${lines.join("\n")}\n`);
});

function ids(path: string): string[] {
  return readFileSync(path, "utf8").trimEnd().split("\n").map((line) => (JSON.parse(line) as { id: string }).id);
}

describe("mix selection", () => {
  test("k = round(fraction × n), without floating-point surprises", () => {
    assert.equal(mixCount(0.1, 2198), 220);
    assert.equal(mixCount(0.29, 100), 29); // 0.29 × 100 = 28.999999999999996
    assert.equal(mixCount(0.5, 3), 2);
    assert.equal(mixCount(0, 50), 0);
    assert.equal(mixCount(1, 50), 50);
  });

  test("fractions outside [0, 1] are refused with a hint", () => {
    assert.throws(() => mixCount(1.5, 10), /--fraction must be a number between 0 and 1 .* got 1\.5/);
    assert.throws(() => mixCount(-0.1, 10), /between 0 and 1/);
    assert.throws(() => mixCount(Number.NaN, 10), /between 0 and 1/);
    try {
      mixCount(10, 10);
    } catch (error) {
      assert.equal((error as { hint?: string }).hint, "For 10 %, pass 0.1.");
    }
  });

  test("nested: for one seed, every smaller fraction's rows are among a larger fraction's rows", () => {
    for (const seed of [0, 42, 2024]) {
      const order = mixOrder(1000, seed);
      const fractions = [0, 0.1, 0.2, 0.4, 0.6, 0.8, 1];
      const chosen = fractions.map((f) => new Set(chooseRows(order, f)));
      fractions.forEach((f, i) => assert.equal(chosen[i]!.size, Math.round(f * 1000)));
      for (let i = 1; i < chosen.length; i++) {
        for (const row of chosen[i - 1]!) assert.ok(chosen[i]!.has(row), `seed ${seed}: row ${row} of ${fractions[i - 1]} missing from ${fractions[i]}`);
      }
    }
  });

  test("percent labels", () => {
    assert.deepEqual([0, 0.1, 0.2, 0.125, 1].map(percentLabel), ["0", "10", "20", "12.5", "100"]);
  });
});

describe("writeMix", () => {
  test("all base rows in order, then the chosen added rows in file order; clashing ids renamed", async () => {
    const out = join(tmp.dir, "en-fi-50pct.jsonl");
    const manifest = await writeMix({ base: EN, add: FI, fraction: 0.5, seed: 42, out, quiet: true });
    // Seed 42 permutes 8 rows as [1, 3, 7, 6, 5, 0, 2, 4]; the first 4, in file order: rows 1, 3, 6, 7.
    assert.deepEqual(ids(out), [
      "dolly:0", "dolly:1", "dolly:2", "dolly:3", "dolly:4", "dolly:5", "dolly:6", "dolly:7",
      "dolly:1#fi", "dolly:3#fi", "dolly:6#fi", "dolly:7#fi",
    ]);
    const lines = readFileSync(out, "utf8").trimEnd().split("\n").map((line) => JSON.parse(line) as { lang: string; messages: { content: string }[] });
    assert.equal(lines[8]!.lang, "fi");
    assert.equal(lines[8]!.messages[0]!.content, "Mikä on kalalaji? Tope tai Rope");
    // Base lines are written back unchanged.
    assert.deepEqual(readFileSync(out, "utf8").split("\n").slice(0, 8), readFileSync(EN, "utf8").split("\n").slice(0, 8));

    const onDisk = JSON.parse(readFileSync(manifestPathFor(out), "utf8")) as MixManifest;
    assert.deepEqual(onDisk, manifest);
    assert.equal(manifestPathFor(out), join(tmp.dir, "en-fi-50pct.manifest.json"));
    assert.equal(manifest.name, "en-fi-50pct");
    assert.equal(manifest.base.sha256, createHash("sha256").update(readFileSync(EN)).digest("hex"));
    assert.equal(manifest.add.sha256, createHash("sha256").update(readFileSync(FI)).digest("hex"));
    assert.deepEqual([manifest.base.rows, manifest.add.rows, manifest.base_rows, manifest.added_rows, manifest.rows_out], [8, 8, 8, 4, 12]);
    assert.deepEqual(manifest.chosen, [
      { line: 2, id: "dolly:1#fi" },
      { line: 4, id: "dolly:3#fi" },
      { line: 7, id: "dolly:6#fi" },
      { line: 8, id: "dolly:7#fi" },
    ]);
    assert.deepEqual(manifest.renamed_ids[0], { line: 2, from: "dolly:1", to: "dolly:1#fi" });
    assert.equal(manifest.seed, 42);
    assert.equal(manifest.fraction, 0.5);
  });

  test("ids that do not clash are kept; conversations of different sources mix", async () => {
    const out = join(tmp.dir, "oasst-plus-dolly.jsonl");
    const manifest = await writeMix({ base: OASST, add: FI, fraction: 0.25, seed: 42, out, quiet: true });
    assert.deepEqual(ids(out).slice(4), ["dolly:1", "dolly:3"]);
    assert.deepEqual(manifest.renamed_ids, []);
  });

  test("a fraction outside [0, 1] writes nothing", async () => {
    const out = join(tmp.dir, "bad-fraction.jsonl");
    await assert.rejects(writeMix({ base: EN, add: FI, fraction: 10, seed: 1, out, quiet: true }), /between 0 and 1/);
    assert.equal(existsSync(out), false);
  });

  test("an invalid record in the added file is an error with file:line and field; no output is left", async () => {
    const bad = join(tmp.dir, "bad-records.jsonl");
    writeFileSync(bad, `${readFileSync(FI, "utf8")}{"kind": "conversation", "id": "x", "messages": [{"role": "robot", "content": "beep"}]}\n`);
    const out = join(tmp.dir, "never.jsonl");
    await assert.rejects(writeMix({ base: EN, add: bad, fraction: 1, seed: 1, out, quiet: true }), /bad-records\.jsonl:9 \(field messages\[0\]\.role\): not a kielo record/);
    assert.equal(existsSync(out), false);
    assert.equal(existsSync(manifestPathFor(out)), false);
  });

  test("an existing mix is kept unless force", async () => {
    const out = join(tmp.dir, "kept.jsonl");
    writeFileSync(out, "old\n");
    await assert.rejects(writeMix({ base: EN, add: FI, fraction: 0.5, seed: 1, out, quiet: true }), /kept\.jsonl already exists/);
    assert.equal(readFileSync(out, "utf8"), "old\n");
    await writeMix({ base: EN, add: FI, fraction: 0.5, seed: 1, out, quiet: true, force: true });
    assert.equal(ids(out).length, 12);
  });
});

describe("writeMixFamily", () => {
  test("the paper's family at once: nested, exact sizes, one manifest each", async () => {
    const dir = join(tmp.dir, "family");
    const manifests = await writeMixFamily({ base: EN, add: MANY, fractions: [0, 0.1, 0.2, 0.4], seed: 42, outDir: dir, name: "en-fi", quiet: true });
    assert.deepEqual(readdirSync(dir).sort(), [
      "en-fi-0pct.jsonl", "en-fi-0pct.manifest.json", "en-fi-10pct.jsonl", "en-fi-10pct.manifest.json",
      "en-fi-20pct.jsonl", "en-fi-20pct.manifest.json", "en-fi-40pct.jsonl", "en-fi-40pct.manifest.json",
    ]);
    assert.deepEqual(manifests.map((m) => m.rows_out), [8, 108, 208, 408]);
    const sets = ["0", "10", "20", "40"].map((pct) => new Set(ids(join(dir, `en-fi-${pct}pct.jsonl`))));
    for (let i = 1; i < sets.length; i++) for (const id of sets[i - 1]!) assert.ok(sets[i]!.has(id));
    // The same selection as a single mix with the same seed.
    const single = join(tmp.dir, "single-20.jsonl");
    await writeMix({ base: EN, add: MANY, fraction: 0.2, seed: 42, out: single, quiet: true });
    assert.deepEqual(ids(single), ids(join(dir, "en-fi-20pct.jsonl")));
    // The 10 % file is literally a subsequence of the 20 % file.
    const ten = ids(join(dir, "en-fi-10pct.jsonl"));
    const twenty = ids(join(dir, "en-fi-20pct.jsonl"));
    let j = 0;
    for (const id of twenty) if (id === ten[j]) j++;
    assert.equal(j, ten.length);
  });

  test("refuses up front when any target exists, writing none", async () => {
    const dir = join(tmp.dir, "family-exists");
    mkdirSync(dir);
    writeFileSync(join(dir, "en-fi-20pct.jsonl"), "old\n");
    await assert.rejects(
      writeMixFamily({ base: EN, add: MANY, fractions: [0.1, 0.2], seed: 1, outDir: dir, name: "en-fi", quiet: true }),
      /en-fi-20pct\.jsonl already exists/,
    );
    assert.deepEqual(readdirSync(dir), ["en-fi-20pct.jsonl"]);
  });
});

describe("kielo mix (the real CLI)", () => {
  function kielo(args: string[], db: string) {
    return spawnSync(process.execPath, [join(REPO, "bin", "kielo.js"), ...args], { encoding: "utf8", env: { ...process.env, KIELO_DB: db }, cwd: tmp.dir });
  }

  test("--fractions writes the family, prints it and records a mix run", () => {
    const db = join(tmp.dir, "mix-cli.db");
    const dir = join(tmp.dir, "cli-family");
    const result = kielo(["mix", "--base", EN, "--add", FI, "--fractions", "0,0.25,0.5", "--seed", "42", "--out-dir", dir, "--name", "en-fi", "--quiet"], db);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /en-fi-25pct\.jsonl: 10 records \(8 base \+ 2 added, fraction 0\.25, 2 ids renamed\)/);
    assert.deepEqual(ids(join(dir, "en-fi-25pct.jsonl")).slice(8), ["dolly:1#fi", "dolly:3#fi"]);
    const store = new DatabaseSync(db);
    const run = store.prepare("SELECT kind, status FROM runs").get() as { kind: string; status: string };
    store.close();
    assert.deepEqual({ ...run }, { kind: "mix", status: "done" });
  });

  test("--fraction outside [0, 1] exits 1 with a clear message", () => {
    const result = kielo(["mix", "--base", EN, "--add", FI, "--fraction", "20", "--seed", "1", "--out", join(tmp.dir, "x.jsonl")], join(tmp.dir, "mix-cli2.db"));
    assert.equal(result.status, 1);
    assert.match(result.stderr, /kielo: --fraction must be a number between 0 and 1 \(the share of the added rows to take\), got 20\nhint: For 20 %, pass 0\.2\./);
  });

  test("mixing --fraction with --out-dir is refused", () => {
    const result = kielo(["mix", "--base", EN, "--add", FI, "--fraction", "0.2", "--seed", "1", "--out-dir", tmp.dir], join(tmp.dir, "mix-cli3.db"));
    assert.equal(result.status, 1);
    assert.match(result.stderr, /give either --fraction with --out, or --fractions with --out-dir and --name/);
  });
});
