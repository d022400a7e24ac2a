/**
 * Seeded randomness for everything that samples (mixes, shuffles, splits).
 *
 * The generator is mulberry32 (Tommy Ettinger's 32-bit generator, public domain): one 32-bit state,
 * a full period of 2^32, fast in plain JavaScript numbers, and well known enough that another
 * implementation can reproduce a kielo permutation. Written here because Node has no seedable
 * generator (`Math.random` and `crypto` cannot be seeded). It is not for cryptography.
 *
 * A generator is a value, not hidden global state: pass it where randomness is needed.
 */
import { KieloError } from "./errors.ts";

export interface Random {
  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number;
  /** A float in [0, 1) with 32 bits of randomness. */
  next(): number;
  /** A uniformly distributed integer in [0, n), without modulo bias. */
  int(n: number): number;
}

/** A generator seeded with a non-negative integer (reduced to 32 bits). */
export function seededRandom(seed: number): Random {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new KieloError(`seed must be a non-negative integer, got ${seed}`);
  }
  let state = seed >>> 0;
  const nextUint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    nextUint32,
    next: () => nextUint32() / 0x1_0000_0000,
    int(n: number): number {
      if (!Number.isInteger(n) || n <= 0 || n > 0x1_0000_0000) throw new RangeError(`int(n) needs 1 <= n <= 2^32, got ${n}`);
      // Rejection sampling: drop the top partial block of 2^32 so every residue is equally likely.
      const limit = 0x1_0000_0000 - (0x1_0000_0000 % n);
      for (;;) {
        const x = nextUint32();
        if (x < limit) return x % n;
      }
    },
  };
}

/** Shuffle `items` in place (Fisher–Yates, from the end) and return it. */
export function shuffleInPlace<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
  return items;
}

/** A seeded permutation of 0 … n-1. The same `n` and `seed` always give the same permutation. */
export function seededPermutation(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  return shuffleInPlace(order, seededRandom(seed));
}
