/**
 * The GPU-host run, rehearsed on the CPU: scripts/gpu/bundle.sh packs Node and the runtime
 * node_modules; a copy of the repository as the device receives it (the files git tracks or would
 * track, plus .gpu/ — no node_modules, no .venv) runs scripts/gpu/e2e.sh, which unpacks the bundle
 * and takes the tiny model through doctor → train sft → train dpo → generate → merge → load →
 * translate → clean, with KIELO_E2E_DEVICE=cpu. Also: a failing phase makes the script fail.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";

const root = new URL("../../", import.meta.url).pathname;
const python = process.env["KIELO_PYTHON"] ?? join(root, ".venv", "bin", "python");
const work = await mkdtemp(join(tmpdir(), "kielo-gpu-e2e-"));
const PHASES = ["doctor", "train-sft", "train-dpo", "generate", "merge", "load", "translate", "clean"];

/** PATH without this checkout's node_modules/.bin: the copy must bring its own Node. */
function pathWithoutPinnedNode(): string {
  return (process.env["PATH"] ?? "")
    .split(":")
    .filter((dir) => !dir.includes("node_modules"))
    .join(":");
}

function summaryRows(text: string): Map<string, { status: string; note: string }> {
  const rows = new Map<string, { status: string; note: string }>();
  for (const line of text.split("\n")) {
    const match = /^(\S+)\s+(ok|FAIL|SKIPPED)\s+(\S+)\s*(.*)$/.exec(line);
    if (match) rows.set(match[1]!, { status: match[2]!, note: match[4]! });
  }
  return rows;
}

test("bundle, copy as the device sees it, and run e2e.sh from the unpacked bundle on the CPU", { timeout: 600_000 }, async (t) => {
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const bundle = join(work, "bundle");
  mkdirSync(bundle);
  // Rebuilding node.xz takes minutes; bundle.sh keeps one that is there.
  if (existsSync(join(root, ".gpu", "node.xz"))) copyFileSync(join(root, ".gpu", "node.xz"), join(bundle, "node.xz"));

  await t.test("bundle.sh packs the runtime node_modules under the size limit", () => {
    const result = spawnSync("bash", [join(root, "scripts", "gpu", "bundle.sh")], {
      env: { ...process.env, KIELO_GPU_BUNDLE: bundle },
      encoding: "utf8",
    });
    assert.equal(result.status, 0, result.stderr + result.stdout);
    assert.match(result.stdout, /in all\s+[\d.]+ MiB \(limit 40\.0 MiB\)/);
    const total = statSync(join(bundle, "node.xz")).size + statSync(join(bundle, "node_modules.tar.xz")).size;
    assert.ok(total < 40 * 2 ** 20, `bundle is ${total} bytes`);
    const listing = spawnSync("tar", ["-tJf", join(bundle, "node_modules.tar.xz")], { encoding: "utf8" }).stdout.split("\n");
    assert.ok(listing.includes("node_modules/tokenizers/tokenizers.linux-x64-gnu.node"));
    assert.ok(listing.includes("node_modules/commander/package.json"));
    assert.ok(listing.includes("node_modules/hysnappy/package.json"), "a dependency of a dependency");
    assert.deepEqual(listing.filter((f) => /tokenizers\..*\.node$/.test(f)), ["node_modules/tokenizers/tokenizers.linux-x64-gnu.node"]);
    for (const absent of ["node_modules/node/", "node_modules/typescript/", "node_modules/eslint/", "node_modules/.bin/"]) {
      assert.ok(!listing.some((f) => f.startsWith(absent)), `${absent} must not be bundled`);
    }
  });

  const repo = join(work, "repo");
  await t.test("the copy has no node_modules of its own", () => {
    const files = spawnSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: root, encoding: "utf8" }).stdout.split("\0");
    for (const file of files) {
      if (file === "" || !existsSync(join(root, file))) continue; // deleted in the working tree
      mkdirSync(dirname(join(repo, file)), { recursive: true });
      copyFileSync(join(root, file), join(repo, file));
    }
    cpSync(bundle, join(repo, ".gpu"), { recursive: true });
    assert.ok(!existsSync(join(repo, "node_modules")));
    assert.ok(!existsSync(join(repo, ".venv")));
  });

  await t.test("e2e.sh unpacks Node and node_modules, every phase passes, the table comes last", () => {
    const out = join(work, "out");
    const result = spawnSync("bash", [join(repo, "scripts", "gpu", "e2e.sh")], {
      cwd: work,
      env: {
        ...process.env,
        PATH: pathWithoutPinnedNode(),
        KIELO_E2E_DEVICE: "cpu",
        KIELO_PYTHON: python, // the device has python3 with torch; here the project's venv has it
        KIELO_E2E_NODE_DIR: join(work, "node"),
        OUT: out,
      },
      encoding: "utf8",
    });
    assert.equal(result.status, 0, result.stdout.slice(-4000) + result.stderr.slice(-2000));
    assert.match(result.stdout, /node v24\.\d+\.\d+ unpacked from \.gpu\//);
    assert.ok(existsSync(join(repo, "node_modules", "tokenizers", "tokenizers.linux-x64-gnu.node")));
    assert.match(result.stdout.trimEnd().split("\n").at(-1)!, /^e2e: all phases passed$/);

    const summary = readFileSync(join(out, "e2e-summary.txt"), "utf8");
    assert.ok(result.stdout.includes(summary.trimEnd()), "the table is printed");
    const rows = summaryRows(summary);
    assert.deepEqual([...rows.keys()], PHASES);
    for (const [phase, row] of rows) assert.equal(row.status, "ok", `${phase}: ${row.note}`);
    assert.match(rows.get("train-sft")!.note, /14 steps on cpu, loss [\d.]+->[\d.]+, eval [\d.]+, \d+ tok\/s, peak [\d.]+ GiB RSS/);
    assert.match(rows.get("train-dpo")!.note, /12 steps on cpu, .*acc [\d.]+/);
    assert.match(rows.get("generate")!.note, /^8 answers/);
    assert.match(rows.get("load")!.note, /loaded tiny-sft adapter, tiny-dpo adapter, merged; merged vs adapter max\|dlogit\|/);
    assert.match(rows.get("clean")!.note, /wrong-language 1\/1 rows \(not Finnish\)/);

    const archived = spawnSync("tar", ["-tzf", join(out, "e2e-logs.tar.gz")], { encoding: "utf8" }).stdout.split("\n");
    for (const name of ["tiny-sft.events.jsonl", "tiny-dpo.events.jsonl", "clean-report.json", "answers.jsonl", "train-sft.log", "e2e-summary.txt"]) {
      assert.ok(archived.includes(`collect/${name}`), `${name} in e2e-logs.tar.gz`);
    }
    const report = JSON.parse(
      spawnSync("tar", ["-xzOf", join(out, "e2e-logs.tar.gz"), "collect/clean-report.json"], { encoding: "utf8" }).stdout,
    ) as { rules: Record<string, { rows: number }>; rows_in: number };
    assert.equal(report.rules["wrong-language"]!.rows, report.rows_in);
  });

  await t.test("a failing phase fails the script, and its table says which", () => {
    // generate alone: there is no DPO adapter to generate with.
    const result = spawnSync("bash", [join(repo, "scripts", "gpu", "e2e.sh")], {
      env: { ...process.env, PATH: pathWithoutPinnedNode(), KIELO_E2E_DEVICE: "cpu", KIELO_E2E_PHASES: "generate", KIELO_PYTHON: python,
             KIELO_E2E_NODE_DIR: join(work, "node"), OUT: join(work, "out-fail") },
      encoding: "utf8",
    });
    assert.equal(result.status, 1, result.stdout);
    assert.match(result.stdout, /^generate\s+FAIL\s/m);
    assert.match(result.stdout.trimEnd().split("\n").at(-1)!, /^e2e: FAILED$/);
  });

  await t.test("unknown settings are refused before any work", () => {
    for (const [name, value, message] of [
      ["KIELO_E2E_DEVICE", "tpu", /KIELO_E2E_DEVICE must be cuda or cpu, got tpu/],
      ["KIELO_E2E_PHASES", "doctor,deploy", /unknown phase deploy/],
    ] as const) {
      const result = spawnSync("bash", [join(repo, "scripts", "gpu", "e2e.sh")], { env: { ...process.env, [name]: value }, encoding: "utf8" });
      assert.equal(result.status, 2);
      assert.match(result.stderr, message);
    }
  });
});
