/**
 * `kielo eval loss` with the real tiny model and real Finnish Dolly records: the held-out loss of a
 * trained LoRA adapter equals the eval loss its own training reported on the same records (records
 * compiled in TypeScript, the loss computed by the engine, on both paths); the base model scores
 * worse; the run is in kielo.db; mistakes are clear errors.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { openStore } from "../../src/store/db.ts";
import { runSummary } from "../../src/store/study.ts";
import { examples, kielo, root, tempDir, tinyModel } from "../robust/helpers.ts";

const dir = tempDir("eval-loss");
const db = join(dir, "kielo.db");
const heldout = join(dir, "heldout.jsonl");
// The last 8 of the 64 example records, held out from the 56 trained on.
const lines = readFileSync(join(examples, "sft-fi.jsonl"), "utf8").trim().split("\n");
writeFileSync(join(dir, "train.jsonl"), `${lines.slice(0, 56).join("\n")}\n`);
writeFileSync(heldout, `${lines.slice(56).join("\n")}\n`);

const lossArgs = ["--data", heldout, "--policy", "assistant", "--max-length", "256", "--template", "llama-2", "--device", "cpu", "--dtype", "fp32"];

test("the held-out loss of a trained adapter equals its training's eval loss; the base model's is higher", { timeout: 300_000 }, async () => {
  const job = join(dir, "job");
  const train = await kielo(
    ["train", "sft", join(root, "recipes/tiny-sft.yaml"), "--set", `data.train=${JSON.stringify(join(dir, "train.jsonl"))}`, "--set", `data.eval=${JSON.stringify(heldout)}`,
      "--set", "training.epochs=1", "--out", job, "--quiet"],
    { env: { KIELO_DB: db } },
  );
  assert.equal(train.code, 0, train.stderr);
  const evals = readFileSync(join(job, "events.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { type: string; loss?: number; trained_tokens?: number }).filter((e) => e.type === "eval");
  const last = evals.at(-1)!;

  const adapted = await kielo(["eval", "loss", "--model", tinyModel, "--adapter", join(job, "model"), ...lossArgs, "--json", join(dir, "adapted.json"), "--label", "adapted"], { env: { KIELO_DB: db } });
  assert.equal(adapted.code, 0, adapted.stderr);
  const result = JSON.parse(readFileSync(join(dir, "adapted.json"), "utf8")) as { eval_loss: number; tokens: number; documents: number };
  assert.equal(result.tokens, last.trained_tokens, "the same trained tokens as the training's eval");
  assert.equal(result.documents, 8);
  assert.ok(Math.abs(result.eval_loss - last.loss!) / last.loss! < 1e-4, `eval loss ${result.eval_loss} vs the training's ${last.loss}`);
  assert.match(adapted.stdout, /held-out loss \d+\.\d{4} over [\d,]+ trained tokens in 8 documents/);

  const base = await kielo(["eval", "loss", "--model", tinyModel, ...lossArgs, "--label", "base"], { env: { KIELO_DB: db } });
  assert.equal(base.code, 0, base.stderr);
  const runId = Number(/recorded run (\d+) \(eval-loss\)/.exec(base.stdout)![1]);
  const store = openStore(db);
  const summary = runSummary(store, runId)!;
  store.close();
  assert.equal(summary["tokens"], result.tokens);
  assert.ok((summary["eval_loss"] as number) > result.eval_loss, `base ${String(summary["eval_loss"])} should be above the trained adapter's ${result.eval_loss}`);
});

test("mistakes are errors naming the thing: a missing data file, a folder that is no adapter, preference pairs", async () => {
  const missing = await kielo(["eval", "loss", "--model", tinyModel, "--data", join(dir, "nope.jsonl"), "--no-store"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /--data .*nope\.jsonl does not exist/);
  const notAdapter = await kielo(["eval", "loss", "--model", tinyModel, "--adapter", dir, "--data", heldout, "--no-store"]);
  assert.equal(notAdapter.code, 1);
  assert.match(notAdapter.stderr, /is not an adapter folder \(no adapter_config\.json\)/);
  const pairs = await kielo(["eval", "loss", "--model", tinyModel, "--data", join(examples, "pairs-en.jsonl"), "--template", "llama-2", "--no-store"]);
  assert.equal(pairs.code, 1);
  assert.match(pairs.stderr, /holds preference pairs/);
  for (const r of [missing, notAdapter, pairs]) assert.doesNotMatch(r.stderr, /internal error/);
});
