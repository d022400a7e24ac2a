/**
 * The "done when", literally: in a fresh folder laid out like a clone, the README
 * quickstart's commands up to and including its training commands (read from README.md, so the
 * test follows the README as it changes) are run as written; then `kielo runs` lists the SFT and
 * the DPO training as done, `kielo runs compare` shows them side by side, the real `tensorboard`
 * CLI serves their curves with kielo.db's points and values, and `kielo serve` shows them in
 * Debian's chromium.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { after, test } from "node:test";
import { formatNumber } from "../../src/runs/format.ts";
import { assertChromium, launchBrowser, openView, startServe, watchProblems } from "../serve/browser-helpers.ts";
import { storeQuery } from "./store-query.ts";

const root = new URL("../../", import.meta.url).pathname;
const kielo = join(root, "bin", "kielo.js");
const python = process.env["KIELO_PYTHON"] ?? join(root, ".venv", "bin", "python");
// The console script pip installs next to the engine's Python: what `tensorboard --logdir` runs.
const tensorboardBin = join(dirname(python), "tensorboard");
// As a fresh clone has it: no KIELO_DB, so the commands record into ./kielo.db.
const workspace = realpathSync(mkdtempSync(join(tmpdir(), "kielo-quickstart-")));
const { KIELO_DB: _ignored, ...inherited } = process.env;
const env = { ...inherited, OMP_NUM_THREADS: "1" };
const dbPath = join(workspace, "kielo.db");
const query = storeQuery(dbPath);

/** The `npx kielo …` lines of the README's Quickstart block that trains, up to its last `kielo train`. */
function quickstartCommands(): string[][] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = /^## Quickstart\n([\s\S]*?)^## /m.exec(readme)?.[1];
  assert.ok(section, "README.md has a ## Quickstart section");
  const block = [...section.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1]!).find((b) => /^npx kielo train /m.test(b));
  assert.ok(block, "the Quickstart has a block with `npx kielo train` commands");
  const lines = block.split("\n").filter((line) => line.startsWith("npx kielo "));
  const lastTrain = lines.findLastIndex((line) => line.startsWith("npx kielo train "));
  return lines.slice(0, lastTrain + 1).map((line) => {
    const command = line.replace(/\s+#.*$/, "");
    assert.doesNotMatch(command, /["'\\$]/, `${command}: quoting is not handled here`);
    return command.split(/\s+/).slice(2);
  });
}

/**
 * The folder the commands run in: the repository's inputs linked in (read only), the recipes
 * copied, so that their `output: ../runs/…` lands in this folder and never in the repository's runs/.
 */
function layOutWorkspace(): void {
  for (const dir of ["test", "fixtures", "examples", "resources"]) symlinkSync(join(root, dir), join(workspace, dir));
  mkdirSync(join(workspace, "recipes"));
  for (const name of readdirSync(join(root, "recipes"))) copyFileSync(join(root, "recipes", name), join(workspace, "recipes", name));
}

function kieloSync(args: string[]) {
  return spawnSync(process.execPath, [kielo, ...args], { cwd: workspace, env, encoding: "utf8" });
}

async function get<T>(url: string): Promise<T> {
  const response = await fetch(url);
  const body = await response.text();
  assert.equal(response.status, 200, `${url}: ${body}`);
  return JSON.parse(body) as T;
}

interface Training { id: number; kind: string; label: string; status: string; job_dir: string }
type Points = { step: number; value: number }[];

function metricNames(runId: number): string[] {
  return query<{ name: string }>("SELECT DISTINCT name FROM metrics WHERE run_id = ? ORDER BY name", runId).map((r) => r.name);
}

function points(runId: number, name: string): Points {
  return query<{ step: number; value: number }>("SELECT step, value FROM metrics WHERE run_id = ? AND name = ? ORDER BY step", runId, name);
}

/** `tensorboard --logdir DIR` on a free loopback port, in its own process group (it starts a data server). */
async function startTensorBoard(logdir: string): Promise<{ base: string; stop: () => Promise<void> }> {
  assert.ok(existsSync(tensorboardBin), `no ${tensorboardBin}: \`npm run setup\` installs tensorboard into the engine's Python`);
  const child = spawn(tensorboardBin, ["--logdir", logdir, "--host", "127.0.0.1", "--port", "0"], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, "SIGTERM");
    await closed;
  };
  let output = "";
  const base = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /TensorBoard \S+ at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void closed.then(() => reject(new Error(`tensorboard exited before serving:\n${output}`)));
  });
  return { base, stop };
}

test("the quickstart's trainings: kielo runs, compare, TensorBoard, kielo serve", { timeout: 600_000 }, async (t) => {
  assertChromium();
  layOutWorkspace();
  const commands = quickstartCommands();
  assert.ok(commands.some((c) => c[0] === "train" && c[1] === "sft") && commands.some((c) => c[0] === "train" && c[1] === "dpo"), "the quickstart trains SFT and DPO");
  for (const args of commands) {
    const result = kieloSync(args);
    assert.equal(result.status, 0, `npx kielo ${args.join(" ")}:\n${result.stderr}`);
  }

  const trainings = query<Training>("SELECT id, kind, label, status, job_dir FROM runs WHERE kind IN ('sft', 'dpo') ORDER BY id");
  assert.deepEqual(trainings.map((r) => [r.kind, r.status]), [["sft", "done"], ["dpo", "done"]]);
  for (const run of trainings) assert.ok(run.job_dir.startsWith(join(workspace, "runs") + "/"), `${run.job_dir} is not in the test's folder`);
  const [sft, dpo] = trainings as [Training, Training];

  await t.test("kielo runs lists both trainings as done", () => {
    const list = kieloSync(["runs"]);
    assert.equal(list.status, 0, list.stderr);
    const rows = list.stdout.trim().split("\n").slice(1);
    assert.equal(rows.length, query<{ n: number }>("SELECT COUNT(*) AS n FROM runs")[0]!.n, list.stdout);
    for (const run of trainings) {
      const loss = points(run.id, "loss").at(-1)!.value;
      assert.match(list.stdout, new RegExp(`^${run.id}\\s+${run.kind}\\s+${run.label}\\s+done\\s.*\\bloss ${formatNumber(loss).replace(".", "\\.")}\\b`, "m"));
    }
  });

  await t.test("kielo runs compare shows the SFT and the DPO training side by side", () => {
    const text = kieloSync(["runs", "compare", String(sft.id), String(dpo.id)]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^recipe\.method\s+sft\s+dpo$/m);
    assert.match(text.stdout, new RegExp(`^recipe\\.init_adapter\\s+-\\s+${join(workspace, "runs", "tiny-sft", "model")}$`, "m"));
    const last = (run: Training, name: string) => points(run.id, name).at(-1)?.value;
    for (const name of ["loss", "eval/loss", "accuracy"]) {
      const cells = [last(sft, name), last(dpo, name)].map((v) => formatNumber(v).replace(".", "\\."));
      assert.match(text.stdout, new RegExp(`^${name}\\s+${cells[0]}\\s+${cells[1]}$`, "m"), name);
    }
    const json = kieloSync(["runs", "compare", String(sft.id), String(dpo.id), "--json"]);
    const metrics = (JSON.parse(json.stdout) as { metrics: { name: string; values: (number | null)[] }[] }).metrics;
    assert.deepEqual(metrics.find((m) => m.name === "loss")?.values, [last(sft, "loss"), last(dpo, "loss")]);
  });

  await t.test("tensorboard --logdir runs/ serves both trainings' curves with kielo.db's points", async () => {
    const logdir = join(workspace, "runs");
    const board = await startTensorBoard(logdir);
    try {
      // The engine's tags: kielo.db's `eval/…` names as they are, the others under `train/`.
      const tagOf = (name: string) => (name.startsWith("eval/") ? name : `train/${name}`);
      const expected = Object.fromEntries(trainings.map((run) => [relative(logdir, join(run.job_dir, "tensorboard")), run] as const));
      // TensorBoard loads the event files in the background after it starts serving.
      let tags: Record<string, Record<string, unknown>> = {};
      const complete = () => Object.entries(expected).every(([name, run]) => metricNames(run.id).every((m) => tags[name]?.[tagOf(m)]));
      for (let i = 0; i < 240 && !complete(); i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 250));
        tags = await get(`${board.base}data/plugin/scalars/tags`);
      }
      assert.deepEqual(Object.keys(tags).sort(), Object.keys(expected).sort());
      for (const [name, run] of Object.entries(expected)) {
        const names = metricNames(run.id);
        assert.ok(names.includes("loss") && names.includes("lr") && names.includes("grad_norm"), names.join(", "));
        assert.deepEqual(Object.keys(tags[name]!).sort(), names.map(tagOf).sort(), name);
        for (const metric of names) {
          const url = `${board.base}data/plugin/scalars/scalars?run=${encodeURIComponent(name)}&tag=${encodeURIComponent(tagOf(metric))}`;
          const scalars = await get<[number, number, number][]>(url); // [wall time, step, value]
          const stored = points(run.id, metric);
          assert.deepEqual(scalars.map(([, step]) => step), stored.map((p) => p.step), `${name} ${metric}: the same steps`);
          // Event files hold float32: each value is kielo.db's, rounded to float32.
          assert.deepEqual(scalars.map(([, , value]) => value), stored.map((p) => Math.fround(p.value)), `${name} ${metric}: the same values`);
        }
      }
    } finally {
      await board.stop();
    }
  });

  await t.test("kielo serve shows both trainings in chromium", async () => {
    const { server, base } = await startServe(["--db", dbPath], { cwd: workspace, env });
    after(() => server.kill());
    const context = await launchBrowser();
    after(() => context.close());
    const page = await context.newPage();
    const problems = watchProblems(page);

    await openView(page, base, "#/");
    assert.equal(await page.locator("#runs tbody tr").count(), query<{ n: number }>("SELECT COUNT(*) AS n FROM runs")[0]!.n);
    for (const run of trainings) {
      const cells = await page.locator(`#runs tbody tr[data-run="${run.id}"] td`).allTextContents();
      assert.ok(cells.includes(run.kind) && cells.includes(run.label) && cells.includes("done"), `run ${run.id}: ${cells.join(" | ")}`);
    }
    for (const run of trainings) {
      await openView(page, base, `#/run/${run.id}`);
      const curves = ["loss", "eval/loss", "lr", "grad_norm", "accuracy"].filter((name) => points(run.id, name).length > 0);
      assert.equal(curves.length, 4, `${run.kind}: ${curves.join(", ")}`); // SFT has eval/loss, DPO accuracy
      for (const name of curves) {
        const chart = `#chart-${name.replace("/", "-")}`;
        assert.equal(await page.locator(chart).getAttribute("data-points"), String(points(run.id, name).length), `${run.kind} ${chart}`);
        assert.equal(await page.locator(`${chart} canvas`).count(), 1, `${run.kind} ${chart}`);
      }
    }
    await openView(page, base, `#/compare?ids=${sft.id},${dpo.id}`);
    const row = (key: string) => page.locator("#compare-settings tr", { hasText: key }).locator("td").allTextContents();
    assert.deepEqual(await row("recipe.method"), ["recipe.method", "sft", "dpo"]);
    assert.deepEqual(await row("recipe.dpo.beta"), ["recipe.dpo.beta", "-", "0.1000"]);
    assert.deepEqual(problems, []);
  });
});
