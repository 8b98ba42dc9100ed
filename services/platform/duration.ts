/**
 * The one duration grammar of signwatch (config and policy files, flags, query filters, the gate's TTLs):
 * a number and a unit, "500ms", "30s", "5m", "1.5h", "21d", "2w". No dependency (imported on light paths).
 */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const RE = /^(\d{1,12}(?:\.\d{1,9})?)(ms|s|m|h|d|w)$/;

export const DURATION_EXAMPLES = '500ms, 30s, 5m, 1h, 21d, 2w';

/** "5m" → 300000 (ms). Undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = RE.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  return Number.isFinite(ms) && ms <= Number.MAX_SAFE_INTEGER ? Math.round(ms) : undefined;
}

/** 300000 → "5m": the largest unit that divides it. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
