/**
 * CPython's `random.Random`, bit for bit: the MT19937 generator of `_randommodule.c` and the
 * methods of `random.py` (3.11) built on it that kielo needs to reproduce Python results.
 *
 * Why our own: Node has no seedable generator, and the npm Mersenne Twisters seed with
 * `init_genrand(seed)` while CPython seeds an int through `init_by_array` of its 32-bit words,
 * builds `random()` from two draws (53 bits) and derives `choice`/`gauss` in its own way. Only an
 * exact port gives the same stream as Python (`random.seed(0)`, used by langdetect, for example).
 *
 * Known limit: `gauss` uses `Math.cos`/`Math.sin`/`Math.log`, which may differ from the C library
 * behind CPython in the last bit (measured: ~3 % of cos/sin and ~7 % of log calls against glibc
 * 2.36). The uniform stream (`random`, `getrandbits`, `randbelow`, `choice`) is exact.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

export class MersenneTwister {
  private readonly state = new Uint32Array(N);
  private index = N + 1;
  /** `random.Random.gauss_next`: the second value of the last Box–Muller pair, or null. */
  private gaussNext: number | null = null;

  /** `random.Random(seed)`. */
  constructor(seed: number | bigint = 0) {
    this.seed(seed);
  }

  /**
   * `random.seed(a)` for an int `a`: `init_by_array` over the 32-bit words of `abs(a)`, least
   * significant first (`[0]` for 0), and the cached gauss value is dropped.
   */
  seed(seed: number | bigint): void {
    if (typeof seed === "number" && !Number.isSafeInteger(seed)) {
      throw new RangeError(`MersenneTwister.seed: expected a safe integer or a bigint, got ${seed}`);
    }
    let rest = BigInt(seed);
    if (rest < 0n) rest = -rest;
    const key: number[] = [];
    while (rest > 0n) {
      key.push(Number(rest & 0xffffffffn));
      rest >>= 32n;
    }
    if (key.length === 0) key.push(0);
    this.initByArray(key);
    this.gaussNext = null;
  }

  /** `random.random()`: a float in [0, 1) with 53 random bits (`genrand_res53`). */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
  }

  /** `random.getrandbits(k)` as a bigint: words filled least significant first, as CPython does. */
  getrandbits(k: number): bigint {
    if (!Number.isInteger(k) || k < 0) throw new RangeError(`getrandbits: number of bits must be a non-negative integer, got ${k}`);
    if (k <= 32) return BigInt(this.getrandbits32(k));
    let result = 0n;
    let shift = 0n;
    for (let remaining = k; remaining > 0; remaining -= 32) {
      let word = this.nextUint32();
      if (remaining < 32) word >>>= 32 - remaining;
      result |= BigInt(word) << shift;
      shift += 32n;
    }
    return result;
  }

  /** `random._randbelow(n)`: rejection sampling over `n.bit_length()` bits, for n > 0. */
  randbelow(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`randbelow: expected a positive safe integer, got ${n}`);
    const k = bitLength(n);
    if (k <= 32) {
      let r = this.getrandbits32(k);
      while (r >= n) r = this.getrandbits32(k);
      return r;
    }
    const limit = BigInt(n);
    let r = this.getrandbits(k);
    while (r >= limit) r = this.getrandbits(k);
    return Number(r);
  }

  /** `random.choice(seq)`. */
  choice<T>(items: ArrayLike<T>): T {
    if (items.length === 0) throw new RangeError("Cannot choose from an empty sequence");
    return items[this.randbelow(items.length)] as T;
  }

  /** `random.gauss(mu, sigma)`: Box–Muller, caching the second value of each pair like CPython. */
  gauss(mu = 0.0, sigma = 1.0): number {
    let z = this.gaussNext;
    this.gaussNext = null;
    if (z === null) {
      const x2pi = this.random() * (2 * Math.PI);
      const g2rad = Math.sqrt(-2.0 * Math.log(1.0 - this.random()));
      z = Math.cos(x2pi) * g2rad;
      this.gaussNext = Math.sin(x2pi) * g2rad;
    }
    return mu + z * sigma;
  }

  /** `getrandbits(k)` for 0 ≤ k ≤ 32 as a plain number (`genrand_uint32() >> (32 - k)`). */
  private getrandbits32(k: number): number {
    if (k === 0) return 0;
    return this.nextUint32() >>> (32 - k);
  }

  private initGenrand(s: number): void {
    const mt = this.state;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] as number;
      mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
    this.index = N;
  }

  private initByArray(key: readonly number[]): void {
    const mt = this.state;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1] as number;
      mt[i] = (((mt[i] as number) ^ Math.imul(prev ^ (prev >>> 30), 1664525)) + (key[j] as number) + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1] as number;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1] as number;
      mt[i] = (((mt[i] as number) ^ Math.imul(prev ^ (prev >>> 30), 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1] as number;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }

  /** `genrand_uint32`. */
  private nextUint32(): number {
    const mt = this.state;
    if (this.index >= N) {
      let kk = 0;
      for (; kk < N - M; kk++) {
        const y = ((mt[kk] as number) & UPPER_MASK) | ((mt[kk + 1] as number) & LOWER_MASK);
        mt[kk] = (mt[kk + M] as number) ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      for (; kk < N - 1; kk++) {
        const y = ((mt[kk] as number) & UPPER_MASK) | ((mt[kk + 1] as number) & LOWER_MASK);
        mt[kk] = (mt[kk + (M - N)] as number) ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      const y = ((mt[N - 1] as number) & UPPER_MASK) | ((mt[0] as number) & LOWER_MASK);
      mt[N - 1] = (mt[M - 1] as number) ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      this.index = 0;
    }
    let y = mt[this.index++] as number;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

/** `int.bit_length()` for a positive safe integer. */
function bitLength(n: number): number {
  return n < 0x100000000 ? 32 - Math.clz32(n) : 32 + bitLength(Math.floor(n / 0x100000000));
}
