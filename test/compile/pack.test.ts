import assert from "node:assert/strict";
import { test } from "node:test";
import { bestFitDecreasing } from "../../src/compile/pack.ts";

test("best-fit decreasing, worked by hand", () => {
  // Longest first: 5 → new bin A (room 3); 4 → new bin B (room 4); 3 → A, the tightest fit (room 0);
  // 3 → B (room 1); 2 → fits nowhere, new bin C (room 6); 1 → B, tighter than C (room 0).
  const { bins } = bestFitDecreasing([5, 4, 3, 3, 2, 1], 8);
  assert.deepEqual(bins, [[0, 2], [1, 3, 5], [4]]);
});

test("ties are taken in input order, so packing is deterministic", () => {
  assert.deepEqual(bestFitDecreasing([2, 2, 2, 2], 4).bins, [
    [0, 1],
    [2, 3],
  ]);
});

test("every document lands in exactly one bin, no bin overflows, and many documents pack fast", () => {
  // Deterministic pseudo-random lengths (a linear congruential generator, seed 7).
  let state = 7;
  const lengths = Array.from({ length: 200_000 }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return 1 + ((state >> 8) % 1024);
  });
  const started = performance.now();
  const { bins } = bestFitDecreasing(lengths, 4096);
  const seconds = (performance.now() - started) / 1000;
  assert.ok(seconds < 5, `packing 200k documents took ${seconds.toFixed(2)}s`);
  const seen = new Uint8Array(lengths.length);
  let total = 0;
  for (const bin of bins) {
    let used = 0;
    for (const d of bin) {
      assert.equal(seen[d], 0);
      seen[d] = 1;
      used += lengths[d]!;
    }
    assert.ok(used <= 4096);
    total += used;
  }
  assert.ok(seen.every((s) => s === 1));
  // With documents up to a quarter of the bin, best-fit decreasing leaves almost no room unused.
  assert.ok(bins.length <= Math.ceil((total / 4096) * 1.01), `${bins.length} bins for ${total} tokens`);
});

test("a document longer than the bin is a programming error", () => {
  assert.throws(() => bestFitDecreasing([9], 8), RangeError);
  assert.throws(() => bestFitDecreasing([1], 0), RangeError);
});
