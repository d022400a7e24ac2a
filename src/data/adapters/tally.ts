/**
 * Counts of what happened to the input: rows dropped (reason → count) and notes that do not drop
 * anything but are worth reporting (e.g. a trailing user turn trimmed).
 */
export class Tally {
  readonly dropped = new Map<string, number>();
  readonly notes = new Map<string, number>();

  drop(reason: string, n = 1): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + n);
  }

  note(reason: string, n = 1): void {
    this.notes.set(reason, (this.notes.get(reason) ?? 0) + n);
  }

  droppedTotal(): number {
    let total = 0;
    for (const n of this.dropped.values()) total += n;
    return total;
  }

  static toObject(map: ReadonlyMap<string, number>): Record<string, number> {
    return Object.fromEntries([...map.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}
