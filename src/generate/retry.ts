/**
 * Retries with exponential backoff and (seeded) jitter, honouring a server's Retry-After.
 *
 * Only transient failures are retried: HTTP 429 and 5xx, network errors and timeouts. Anything else
 * (a 4xx such as 400 or 401) is the caller's mistake and fails at once with the server's message.
 */
import type { Random } from "../util/random.ts";

export interface RetryPolicy {
  /** Attempts in total, including the first. */
  maxAttempts: number;
  /** Delay before the first retry, in ms; doubled each time. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 500, maxDelayMs: 30_000 };

/** A failure that may succeed if tried again; `retryAfterMs` is the server's wish, if it said one. */
export class TransientError extends Error {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs?: number) {
    super(message);
    this.name = "TransientError";
    this.retryAfterMs = retryAfterMs;
  }
}

/** Parse Retry-After: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Full-jitter backoff: a uniform delay in [0.5, 1] × base·2^(attempt-1), capped. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: Random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return exp * (0.5 + 0.5 * random.next());
}

export async function withRetry<T>(
  run: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  random: Random,
  signal?: AbortSignal,
  onRetry?: (error: TransientError, attempt: number, delayMs: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run(attempt);
    } catch (error) {
      if (!(error instanceof TransientError) || attempt >= policy.maxAttempts) throw error;
      const delay = Math.min(policy.maxDelayMs, error.retryAfterMs ?? backoffDelay(policy, attempt, random));
      onRetry?.(error, attempt, delay);
      await sleep(delay, signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
