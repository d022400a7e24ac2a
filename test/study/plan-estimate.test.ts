/**
 * `kielo study plan` estimates training time before the study's first run: the tokens of each
 * train step's data (× epochs) over the tokens/s of earlier trainings of the same base model in
 * kielo.db, here a real tiny-model SFT run; without such a run it says the throughput is unknown.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { formatDuration } from "../../src/util/progress.ts";
import { kielo, root, tempDir, TINY_STUDY_INPUTS, writeStudy } from "./helpers.ts";

const model = join(root, "fixtures/models/stories260K/hf");

test("plan estimates SFT time from an earlier run's measured throughput, and says unknown before one", { timeout: 300_000 }, async () => {
  const dir = tempDir("plan-estimate");
  const env = { KIELO_DB: join(dir, "kielo.db") };
  const text = `name: estimate
${TINY_STUDY_INPUTS}mixes: { base: en, add: fi, fractions: [0, 0.5], seed: 42 }
sft: { recipe: ${root}recipes/tiny-sft.yaml, set: { training.epochs: 2 } }
eval: { base: false }
`;
  const file = writeStudy(dir, text);
  const plan = async (study = file) => {
    const result = await kielo(["study", "plan", study, "--work-dir", join(dir, "work")], { cwd: dir, env });
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  };

  const before = await plan();
  assert.match(before, new RegExp(`sft: 2 step\\(s\\) to train, [\\d,]+ tokens in 2; throughput unknown: no measured sft run of ${model} yet`));
  assert.match(before, /training from earlier runs: unknown in part/);
  const tokens = Number(/sft: 2 step\(s\) to train, ([\d,]+) tokens/.exec(before)![1]!.replaceAll(",", ""));
  assert.ok(tokens > 1000, `${tokens} tokens`);

  // A real training of the same model, recorded in this kielo.db; a DPO-free study needs only SFT's rate.
  const train = await kielo(["train", "sft", join(root, "recipes/tiny-sft.yaml"), "--set", "training.epochs=1", "--out", join(dir, "job"), "--quiet"], { cwd: dir, env });
  assert.equal(train.code, 0, train.stderr);
  const db = new DatabaseSync(env.KIELO_DB, { readOnly: true });
  const { summary_json } = db.prepare("SELECT summary_json FROM runs WHERE kind = 'sft' AND status = 'done'").get() as { summary_json: string };
  db.close();
  const rate = (JSON.parse(summary_json) as { tokens_per_s: number }).tokens_per_s;

  const after = await plan();
  assert.match(after, new RegExp(`sft: 2 step\\(s\\) to train, ${tokens.toLocaleString("en-US")} tokens in 2; throughput from 1 earlier sft run\\(s\\) of ${model}: ${Math.round(rate).toLocaleString("en-US")} tok/s`), after);
  const training = formatDuration(tokens / rate);
  assert.match(after, new RegExp(`training from earlier runs: about ${training} of training`));
  // On the CPU there is no GPU time; with one GPU per training the train steps are the GPU time.
  assert.match(after, /time left: unknown .*GPU time none \(CPU only\)/);
  const onGpu = await plan(writeStudy(dir, `${text}resources: { gpus: { train: 1 } }\n`, "gpu.yaml"));
  assert.match(onGpu, new RegExp(`GPU time about ${training}$`, "m"));
});
