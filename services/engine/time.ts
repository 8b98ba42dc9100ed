/** Event-time helpers: epoch milliseconds inside the engine, RFC 3339 UTC with ms on the wire. */
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

const D0 = 48; // '0'

/**
 * Parse RFC 3339 UTC with ms ("2026-11-20T00:05:12.283Z", the wire format the schema enforces) without
 * Date.parse's generic grammar; anything else falls back to Date.parse.
 */
export function toMs(iso: string): number {
  if (iso.length !== 24 || iso.charCodeAt(23) !== 90 /* Z */ || iso.charCodeAt(19) !== 46 /* . */) return Date.parse(iso);
  const n = (i: number, len: number) => {
    let v = 0;
    for (let k = i; k < i + len; k++) v = v * 10 + (iso.charCodeAt(k) - D0);
    return v;
  };
  return Date.UTC(n(0, 4), n(5, 2) - 1, n(8, 2), n(11, 2), n(14, 2), n(17, 2), n(20, 3));
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

export function hourStart(ms: number): number {
  return ms - (((ms % HOUR) + HOUR) % HOUR);
}
