/** Durations in config and policy files: "500ms", "30s", "5m", "1h", "21d" (or a number of milliseconds). */
import { z } from 'zod';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Parse "5m" → 300000. Returns undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = RE.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * (UNITS[m[2]!] ?? NaN);
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** zod type: accepts "5m" or a non-negative integer of ms; outputs milliseconds. */
export const DurationMs = z.union([
  z.number().int().nonnegative(),
  z.string().transform((s, ctx) => {
    const ms = parseDuration(s);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${s}" is not a duration (use e.g. 500ms, 30s, 5m, 1h, 21d)` });
      return z.NEVER;
    }
    return ms;
  }),
]);
