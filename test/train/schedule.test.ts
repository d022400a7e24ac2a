import assert from "node:assert/strict";
import { test } from "node:test";
import { buildSchedule, decodeSchedule, encodeSchedule, splitByTokens } from "../../src/train/schedule.ts";
import { seededPermutation } from "../../src/util/random.ts";

const base = { permutation: seededPermutation, seed: 7, groupByLength: false } as const;

test("every sequence appears exactly once per epoch, in global batches of micro-batches", () => {
  const schedule = buildSchedule({ ...base, sequences: 10, epochs: 2, microBatchSize: 2, microBatchesPerStep: 2 });
  // 10 sequences, global batch 4 → 3 steps per epoch (4, 4, 2), 6 steps in all.
  assert.equal(schedule.steps.length, 6);
  for (let epoch = 0; epoch < 2; epoch++) {
    const seen = schedule.steps.slice(epoch * 3, epoch * 3 + 3).flat(2).sort((a, b) => a - b);
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }
  assert.deepEqual(schedule.steps[2]!.map((micro) => micro.length), [2, 0]);
  // Epochs are shuffled differently.
  assert.notDeepEqual(schedule.steps.slice(0, 3).flat(2), schedule.steps.slice(3, 6).flat(2));
});

test("the same seed gives the same schedule, another seed another one", () => {
  const options = { ...base, sequences: 50, epochs: 1, microBatchSize: 4, microBatchesPerStep: 2 };
  assert.deepEqual(buildSchedule(options), buildSchedule(options));
  assert.notDeepEqual(buildSchedule(options).steps, buildSchedule({ ...options, seed: 8 }).steps);
});

test("length grouping sorts each mega-batch longest first and keeps every sequence", () => {
  const lengths = Array.from({ length: 30 }, (_, i) => (i * 7919) % 101);
  const schedule = buildSchedule({
    ...base,
    sequences: 30,
    lengths,
    epochs: 1,
    microBatchSize: 1,
    microBatchesPerStep: 1,
    groupByLength: true,
  });
  const order = schedule.steps.flat(2);
  // 30 sequences < one mega-batch (50 global batches), so the whole epoch is sorted by length.
  for (let i = 1; i < order.length; i++) assert.ok(lengths[order[i - 1]!]! >= lengths[order[i]!]!);
  assert.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i));
});

test("schedule.bin round-trips through the documented int64 layout", () => {
  const schedule = buildSchedule({ ...base, sequences: 9, epochs: 1, microBatchSize: 2, microBatchesPerStep: 3 });
  const bytes = encodeSchedule(schedule);
  const words = new BigInt64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  // [n_steps=2, mb_per_step=3, then (n, seq…) for each of the 6 micro-batches]
  assert.equal(words[0], 2n);
  assert.equal(words[1], 3n);
  assert.equal(words.length, 2 + 6 + 9);
  assert.deepEqual(decodeSchedule(bytes), schedule);
});

test("micro-batches by token budget: within budget, every sequence once, a multiple of the GPUs", () => {
  const lengths = Array.from({ length: 40 }, (_, i) => 20 + ((i * 7919) % 300));
  const options = {
    ...base,
    sequences: 40,
    lengths,
    epochs: 2,
    microBatchSize: 1,
    microBatchesPerStep: 0,
    microBatchTokens: { budget: 600, globalBatch: 16, gpus: 2 },
  };
  const schedule = buildSchedule(options);
  assert.equal(schedule.microBatchesPerStep, 0);
  assert.equal(schedule.steps.length, 6); // 40 per epoch in steps of 16, 16, 8
  for (const step of schedule.steps) {
    assert.equal(step.length % 2, 0);
    for (const micro of step) {
      const tokens = micro.reduce((sum, s) => sum + lengths[s]!, 0);
      assert.ok(tokens <= 600 || micro.length === 1, `${tokens} tokens in ${micro.length} sequences`);
    }
  }
  for (let epoch = 0; epoch < 2; epoch++) {
    const seen = schedule.steps.slice(epoch * 3, epoch * 3 + 3).flat(2).sort((a, b) => a - b);
    assert.deepEqual(seen, Array.from({ length: 40 }, (_, i) => i));
  }
  assert.deepEqual(buildSchedule(options), schedule);
  assert.deepEqual(decodeSchedule(encodeSchedule(schedule)), schedule);
});

test("splitByTokens: first-fit decreasing, long sequences alone, empty micro-batches only when nothing splits", () => {
  const lengths = [500, 100, 300, 250, 900, 50];
  assert.deepEqual(splitByTokens([0, 1, 2, 3, 4, 5], lengths, 600, 1), [[4], [0, 1], [2, 3, 5]]);
  // three micro-batches over two GPUs: the fullest one is halved
  assert.deepEqual(splitByTokens([0, 1, 2, 3, 4, 5], lengths, 600, 2), [[4], [0], [2, 3, 5], [1]]);
  // one sequence for two GPUs: an empty micro-batch (the engine runs it with weight 0)
  assert.deepEqual(splitByTokens([4], lengths, 600, 2), [[4], []]);
});

test("schedule.bin with a varying number of micro-batches per step", () => {
  const schedule = { steps: [[[0, 1], [2], []], [[3]]], microBatchesPerStep: 0 };
  const words = Array.from(new BigInt64Array(encodeSchedule(schedule).buffer.slice(0)), Number);
  assert.deepEqual(words, [2, 0, 3, 2, 0, 1, 1, 2, 0, 1, 1, 3]);
  assert.deepEqual(decodeSchedule(encodeSchedule(schedule)), schedule);
});
