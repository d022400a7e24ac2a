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
  /** Micro-batches per optimizer step, over all devices. */
  microBatchesPerStep: number;
  seed: number;
  groupByLength: boolean;
  /** A seeded permutation of 0..n-1 (the project's PRNG). */
  permutation: (n: number, seed: number) => ArrayLike<number>;
}

export interface Schedule {
  /** steps[s][m] = sequence indices of micro-batch m of step s (possibly empty in the last step of an epoch). */
  steps: number[][][];
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
  const globalBatch = microBatchSize * microBatchesPerStep;
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
      const micro: number[][] = [];
      for (let m = 0; m < microBatchesPerStep; m++) {
        micro.push(batch.slice(m * microBatchSize, (m + 1) * microBatchSize));
      }
      steps.push(micro);
    }
  }
  return { steps, microBatchesPerStep };
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

/** Serialise as docs/formats.md §3: int64 [n_steps, mb_per_step, (n, seq…)…]. */
export function encodeSchedule(schedule: Schedule): Buffer {
  let count = 2;
  for (const step of schedule.steps) for (const micro of step) count += 1 + micro.length;
  const out = new BigInt64Array(count);
  let i = 0;
  out[i++] = BigInt(schedule.steps.length);
  out[i++] = BigInt(schedule.microBatchesPerStep);
  for (const step of schedule.steps) {
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
    for (let m = 0; m < perStep; m++) {
      const n = next();
      const micro: number[] = [];
      for (let k = 0; k < n; k++) micro.push(next());
      step.push(micro);
    }
    steps.push(step);
  }
  return { steps, microBatchesPerStep: perStep };
}
