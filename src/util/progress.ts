/**
 * Progress for long work, on stderr.
 *
 * On a terminal: one line redrawn in place at most 10 times a second. When piped (CI, logs): a
 * plain line every few seconds, so logs stay readable. Either way the first count is shown at once:
 * a log shows the work began (and its total) even when it ends within the interval. Silent when
 * `quiet` is set.
 */
export interface ProgressOptions {
  /** What is counted: "rows", "segments", "steps" … */
  unit: string;
  /** Total count if known, for a percentage and an ETA. */
  total?: number;
  quiet?: boolean;
  stream?: NodeJS.WriteStream;
}

export class Progress {
  private readonly start = performance.now();
  private lastDraw = Number.NEGATIVE_INFINITY;
  private count = 0;
  private extra = "";
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;

  private readonly label: string;
  private readonly options: ProgressOptions;

  constructor(label: string, options: ProgressOptions) {
    this.label = label;
    this.options = options;
    this.stream = options.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
  }

  /** Advance by `n` and optionally replace the trailing detail text (e.g. "loss 1.23"). */
  tick(n = 1, extra?: string): void {
    this.count += n;
    if (extra !== undefined) this.extra = extra;
    const now = performance.now();
    const interval = this.tty ? 100 : 5000;
    if (now - this.lastDraw >= interval) {
      this.lastDraw = now;
      this.draw(false);
    }
  }

  /** Set the absolute count (for sources that report totals, like training steps). */
  set(count: number, extra?: string): void {
    this.tick(count - this.count, extra);
  }

  /** A line of its own above the progress line (e.g. an evaluation's result), which is then redrawn. */
  log(line: string): void {
    if (this.options.quiet) return;
    if (this.tty) {
      this.stream.write(`\r\x1b[2K${line}\n`);
      if (this.lastDraw > Number.NEGATIVE_INFINITY) this.draw(false);
    } else {
      this.stream.write(`${line}\n`);
    }
  }

  done(extra?: string): void {
    if (extra !== undefined) this.extra = extra;
    this.draw(true);
  }

  private draw(final: boolean): void {
    if (this.options.quiet) return;
    const seconds = (performance.now() - this.start) / 1000;
    const rate = seconds > 0 ? this.count / seconds : 0;
    const { total, unit } = this.options;
    let text = `${this.label}: ${this.count.toLocaleString("en-US")}`;
    if (total !== undefined) text += `/${total.toLocaleString("en-US")} ${unit} (${percent(this.count, total)})`;
    else text += ` ${unit}`;
    text += `, ${formatRate(rate)} ${unit}/s`;
    // An ETA from less than a second of work (the first count) says more about start-up than about the rest.
    if (!final && total !== undefined && rate > 0 && this.count < total && seconds >= 1) {
      text += `, ETA ${formatDuration((total - this.count) / rate)}`;
    }
    if (final) text += `, ${formatDuration(seconds)}`;
    if (this.extra) text += `, ${this.extra}`;
    if (this.tty) this.stream.write(`\r\x1b[2K${text}${final ? "\n" : ""}`);
    else this.stream.write(`${text}\n`);
  }
}

function percent(count: number, total: number): string {
  return total > 0 ? `${((100 * count) / total).toFixed(1)}%` : "100%";
}

export function formatRate(rate: number): string {
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(2)}M`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(1)}k`;
  return rate.toFixed(rate >= 10 ? 0 : 1);
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  if (m < 60) return `${m}m${String(s).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}
