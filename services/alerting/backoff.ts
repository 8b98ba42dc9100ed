/** Retry timing: exponential backoff with jitter, and HTTP Retry-After parsing. Pure functions. */

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
