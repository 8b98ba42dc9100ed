/**
 * The one retry timing of signwatch (notifier deliveries, notarytool retries, the processor's store writes and
 * consumer restarts, the agent's shipping): exponential backoff with "equal jitter", and HTTP Retry-After parsing.
 * Pure functions, no dependency (the agent imports this file).
 */

export interface BackoffOptions {
  /** Delay cap of the first retry. */
  baseMs: number;
  /** Largest delay between two attempts. */
  maxMs: number;
}

/**
 * Delay before retry number `attempt` (1 = first retry): "equal jitter", uniformly in [cap/2, cap] where
 * cap = min(maxMs, baseMs · 2^(attempt−1)), so retries spread out but never come back immediately.
 */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const cap = Math.min(o.maxMs, o.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(cap / 2 + random() * (cap / 2));
}

/** Retry-After: delta-seconds or an HTTP date. Returns milliseconds from `nowMs`, or undefined when absent/invalid. */
export function parseRetryAfter(header: string | null | undefined, nowMs: number): number | undefined {
  if (header === null || header === undefined) return undefined;
  const h = header.trim();
  if (/^\d+(\.\d+)?$/.test(h)) return Math.round(Number(h) * 1000);
  const t = Date.parse(h);
  return Number.isNaN(t) ? undefined : Math.max(0, t - nowMs);
}

/** Attempts of `fn` until it succeeds, `isRetryable(err)` says no, or `attempts` is reached; waits backoffDelay between. */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  o: BackoffOptions & { attempts: number; isRetryable: (e: unknown) => boolean; onRetry?: (e: unknown, attempt: number, delayMs: number) => void },
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  random: () => number = Math.random,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= o.attempts || !o.isRetryable(e)) throw e;
      const d = backoffDelay(attempt, o, random);
      o.onRetry?.(e, attempt, d);
      await sleep(d);
    }
  }
}
