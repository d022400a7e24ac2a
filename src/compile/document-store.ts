/**
 * Compiled documents held in memory while compiling: all token ids and trained flags in two growing
 * typed arrays (no per-token JS objects), plus per-document offsets and row info.
 */
export interface DocumentInfo {
  /** Record id. */
  id: string;
  /** 1-based line of the record in the source JSONL. */
  source: number;
  /** Only for preference data: which reply this document holds. */
  part?: "chosen" | "rejected";
  truncated: boolean;
}

export class DocumentStore {
  tokens = new Uint32Array(1 << 16);
  trained = new Uint8Array(1 << 16);
  /** offsets[d] … offsets[d+1] is document d; offsets[0] = 0. */
  offsets: number[] = [0];
  readonly info: DocumentInfo[] = [];
  length = 0;
  trainedCount = 0;

  get documentCount(): number {
    return this.info.length;
  }

  add(ids: ArrayLike<number>, trained: Uint8Array, info: DocumentInfo): void {
    const n = ids.length;
    this.reserve(this.length + n);
    this.tokens.set(ids, this.length);
    this.trained.set(trained, this.length);
    for (let i = 0; i < n; i++) this.trainedCount += trained[i]!;
    this.length += n;
    this.offsets.push(this.length);
    this.info.push(info);
  }

  documentLength(d: number): number {
    return this.offsets[d + 1]! - this.offsets[d]!;
  }

  private reserve(capacity: number): void {
    if (capacity <= this.tokens.length) return;
    let size = this.tokens.length;
    while (size < capacity) size *= 2;
    const tokens = new Uint32Array(size);
    tokens.set(this.tokens.subarray(0, this.length));
    const trained = new Uint8Array(size);
    trained.set(this.trained.subarray(0, this.length));
    this.tokens = tokens;
    this.trained = trained;
  }
}
