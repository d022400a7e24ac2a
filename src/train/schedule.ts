/**
 * The training schedule: which sequences go into which micro-batch of which optimizer step.
 *
 * TypeScript decides the order of the data (shuffling, epochs, length grouping) and writes it into
 * the job folder, so the engine never samples: a resumed run continues at a step index and sees
 * exactly the data an uninterrupted run would, on any number of GPUs. Layout: docs/formats.md §3.
 */

export interface ScheduleOptions {
  /** Number of sequences (documents, packs or preference pairs) in the compiled data. */
  sequences: number;
  /** Token length of each sequence (needed for length grouping). */
  lengths?: ArrayLike<number>;
  epochs: number;
  /** Sequences per micro-batch. */
  microBatchSize: number;
  /** Micro-batches per optimizer step, over all devices (0 with `microBatchTokens`: it varies). */
  microBatchesPerStep: number;
  /**
   * Micro-batches by token budget instead of by row count: each step takes `globalBatch`
   * sequences and splits them into micro-batches of at most this many tokens (`lengths`), longest
   * first; their number per step is rounded up to a multiple of `gpus`.
   */
  microBatchTokens?: { budget: number; globalBatch: number; gpus: number };
  seed: number;
  groupByLength: boolean;
  /** A seeded permutation of 0..n-1 (the project's PRNG). */
  permutation: (n: number, seed: number) => ArrayLike<number>;
}

export interface Schedule {
  /** steps[s][m] = sequence indices of micro-batch m of step s (possibly empty in the last step of an epoch). */
  steps: number[][][];
  /** Micro-batches of every step; 0 = it varies from step to step (token budget). */
  microBatchesPerStep: number;
}

/**
 * As in transformers' LengthGroupedSampler: shuffle, cut into mega-batches of this many global
 * batches, sort each mega-batch by length (longest first). Random order across mega-batches,
 * similar lengths within a batch.
 */
const MEGABATCH_MULTIPLIER = 50;

export function buildSchedule(options: ScheduleOptions): Schedule {
  const { sequences, epochs, microBatchSize, microBatchesPerStep, seed } = options;
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`epochs must be a positive integer, got ${epochs}`);
  if (sequences < 1) throw new Error("cannot build a schedule for zero sequences");
  const byTokens = options.microBatchTokens;
  if (byTokens && !options.lengths) throw new Error("micro-batches by token budget need sequence lengths");
  const globalBatch = byTokens ? byTokens.globalBatch : microBatchSize * microBatchesPerStep;
  const steps: number[][][] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    // One permutation per epoch, seeded by (seed, epoch), so epochs differ and runs repeat.
    let order = Array.from(options.permutation(sequences, seed * 1000003 + epoch));
    if (options.groupByLength) {
      if (!options.lengths) throw new Error("length grouping needs sequence lengths");
      order = groupByLength(order, options.lengths, globalBatch * MEGABATCH_MULTIPLIER);
    }
    for (let start = 0; start < order.length; start += globalBatch) {
      const batch = order.slice(start, start + globalBatch);
      if (byTokens) {
        steps.push(splitByTokens(batch, options.lengths!, byTokens.budget, byTokens.gpus));
        continue;
      }
      const micro: number[][] = [];
      for (let m = 0; m < microBatchesPerStep; m++) {
        micro.push(batch.slice(m * microBatchSize, (m + 1) * microBatchSize));
      }
      steps.push(micro);
    }
  }
  return { steps, microBatchesPerStep: byTokens ? 0 : microBatchesPerStep };
}

/**
 * One step's sequences in micro-batches of at most `budget` tokens: first-fit decreasing (longest
 * sequence first, into the first micro-batch it fits; a sequence longer than the budget alone).
 * The count is then made a multiple of `multiple` (every GPU runs the same number of forward
 * passes) by halving the fullest micro-batches, or, when none can be split, with empty ones.
 */
export function splitByTokens(batch: readonly number[], lengths: ArrayLike<number>, budget: number, multiple: number): number[][] {
  const length = (s: number) => lengths[s] ?? 0;
  const sorted = [...batch].sort((a, b) => length(b) - length(a));
  const bins: { seqs: number[]; tokens: number }[] = [];
  for (const s of sorted) {
    const bin = bins.find((b) => b.tokens + length(s) <= budget);
    if (bin) {
      bin.seqs.push(s);
      bin.tokens += length(s);
    } else {
      bins.push({ seqs: [s], tokens: length(s) });
    }
  }
  while (bins.length % multiple !== 0) {
    const splittable = bins.filter((b) => b.seqs.length > 1).sort((a, b) => b.tokens - a.tokens)[0];
    if (!splittable) {
      bins.push({ seqs: [], tokens: 0 });
      continue;
    }
    // Alternate the (longest-first) sequences between the halves: two bins of similar size.
    const half = { seqs: splittable.seqs.filter((_, i) => i % 2 === 1), tokens: 0 };
    splittable.seqs = splittable.seqs.filter((_, i) => i % 2 === 0);
    half.tokens = half.seqs.reduce((sum, s) => sum + length(s), 0);
    splittable.tokens -= half.tokens;
    bins.push(half);
  }
  return bins.map((b) => b.seqs);
}

function groupByLength(order: number[], lengths: ArrayLike<number>, megabatch: number): number[] {
  const out: number[] = [];
  for (let start = 0; start < order.length; start += megabatch) {
    const chunk = order.slice(start, start + megabatch);
    // Stable sort: ties keep their shuffled order.
    chunk.sort((a, b) => (lengths[b] ?? 0) - (lengths[a] ?? 0));
    out.push(...chunk);
  }
  return out;
}

/**
 * Serialise as docs/formats.md §3: int64 [n_steps, mb_per_step, (n, seq…)…]; with mb_per_step 0
 * (a varying count) every step starts with its own count: [n_steps, 0, (m, (n, seq…)×m)…].
 */
export function encodeSchedule(schedule: Schedule): Buffer {
  const variable = schedule.microBatchesPerStep === 0;
  let count = 2;
  for (const step of schedule.steps) {
    if (variable) count += 1;
    for (const micro of step) count += 1 + micro.length;
  }
  const out = new BigInt64Array(count);
  let i = 0;
  out[i++] = BigInt(schedule.steps.length);
  out[i++] = BigInt(schedule.microBatchesPerStep);
  for (const step of schedule.steps) {
    if (variable) out[i++] = BigInt(step.length);
    for (const micro of step) {
      out[i++] = BigInt(micro.length);
      for (const seq of micro) out[i++] = BigInt(seq);
    }
  }
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

export function decodeSchedule(bytes: Uint8Array): Schedule {
  const data = new BigInt64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let i = 0;
  const next = () => Number(data[i++]);
  const nSteps = next();
  const perStep = next();
  const steps: number[][][] = [];
  for (let s = 0; s < nSteps; s++) {
    const step: number[][] = [];
    const count = perStep === 0 ? next() : perStep;
    for (let m = 0; m < count; m++) {
      const n = next();
      const micro: number[] = [];
      for (let k = 0; k < n; k++) micro.push(next());
      step.push(micro);
    }
    steps.push(step);
  }
  return { steps, microBatchesPerStep: perStep };
}
