import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { seededPermutation, seededRandom, shuffleInPlace } from "../../src/util/random.ts";

// Expected values come from an independent Python port of mulberry32 (Tommy Ettinger's reference:
// t = a += 0x6D2B79F5; t = imul(t ^ t>>>15, t|1); t ^= t + imul(t ^ t>>>7, t|61); (t ^ t>>>14)>>>0)
// and of Fisher–Yates from the end with rejection-sampled indices, run once by hand.
describe("seeded randomness (mulberry32)", () => {
  test("the first outputs for seeds 42 and 0 match the reference algorithm", () => {
    const r42 = seededRandom(42);
    assert.deepEqual([1, 2, 3, 4, 5].map(() => r42.nextUint32()), [2581720956, 1925393290, 3661312704, 2876485805, 750819978]);
    const r0 = seededRandom(0);
    assert.deepEqual([1, 2, 3].map(() => r0.nextUint32()), [1144304738, 1416247, 958946056]);
    assert.equal(seededRandom(42).next(), 2581720956 / 2 ** 32);
  });

  test("permutations match the reference and are permutations", () => {
    assert.deepEqual(seededPermutation(8, 42), [1, 3, 7, 6, 5, 0, 2, 4]);
    assert.deepEqual(seededPermutation(10, 7), [0, 4, 8, 1, 7, 3, 5, 6, 9, 2]);
    const big = seededPermutation(10_000, 1);
    assert.deepEqual([...big].sort((a, b) => a - b), Array.from({ length: 10_000 }, (_, i) => i));
    assert.notDeepEqual(seededPermutation(100, 1), seededPermutation(100, 2));
    assert.deepEqual(seededPermutation(0, 3), []);
  });

  test("int(n) stays in range and is close to uniform", () => {
    const random = seededRandom(123);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[random.int(6)]! += 1;
    // Each bucket expects 10,000; 4 standard deviations is about ±370.
    for (const count of counts) assert.ok(Math.abs(count - 10_000) < 400, `bucket count ${count}`);
    assert.throws(() => random.int(0), RangeError);
  });

  test("shuffleInPlace is deterministic for a seed; bad seeds are refused", () => {
    const a = shuffleInPlace(["a", "b", "c", "d", "e"], seededRandom(5));
    const b = shuffleInPlace(["a", "b", "c", "d", "e"], seededRandom(5));
    assert.deepEqual(a, b);
    assert.throws(() => seededRandom(-1), /seed must be a non-negative integer/);
    assert.throws(() => seededRandom(1.5), /seed must be a non-negative integer/);
  });
});
