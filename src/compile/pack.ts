/**
 * Best-fit decreasing bin packing of documents into sequences of at most `capacity` tokens.
 *
 * Documents are taken longest first (ties in input order, so the result is deterministic); each goes
 * into the open bin with the least room left that still fits it, or opens a new bin. Finding that bin
 * is a "first non-empty bucket at or above L" query over bins bucketed by remaining room, answered by
 * a segment tree in O(log capacity) — packing a million documents takes well under a second.
 */
export interface Packing {
  /** Bins in creation order; each lists document indices in the order they were placed. */
  bins: number[][];
}

export function bestFitDecreasing(lengths: ArrayLike<number>, capacity: number): Packing {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  const order = Array.from({ length: lengths.length }, (_, i) => i);
  order.sort((a, b) => lengths[b]! - lengths[a]! || a - b);

  // buckets[r] = bins with exactly r tokens of room left (a stack: the most recent bin is used first).
  const buckets: number[][] = Array.from({ length: capacity + 1 }, () => []);
  let size = 1;
  while (size < capacity + 1) size *= 2;
  // tree[node] = number of bins in the leaves below; leaves at size + r.
  const tree = new Int32Array(2 * size);
  const update = (room: number, delta: number): void => {
    for (let node = size + room; node >= 1; node >>= 1) tree[node]! += delta;
  };
  /** The smallest room >= need that has a bin, or -1. */
  const findRoom = (need: number): number => {
    const search = (node: number, lo: number, hi: number): number => {
      if (hi < need || tree[node] === 0) return -1;
      if (lo === hi) return lo;
      const mid = (lo + hi) >> 1;
      const left = search(2 * node, lo, mid);
      return left !== -1 ? left : search(2 * node + 1, mid + 1, hi);
    };
    return search(1, 0, size - 1);
  };

  const bins: number[][] = [];
  for (const doc of order) {
    const length = lengths[doc]!;
    if (length > capacity) throw new RangeError(`document ${doc} has ${length} tokens, more than the pack size ${capacity}`);
    const room = findRoom(length);
    let bin: number;
    if (room === -1) {
      bin = bins.length;
      bins.push([]);
    } else {
      bin = buckets[room]!.pop()!;
      update(room, -1);
    }
    bins[bin]!.push(doc);
    const left = (room === -1 ? capacity : room) - length;
    buckets[left]!.push(bin);
    update(left, 1);
  }
  return { bins };
}
