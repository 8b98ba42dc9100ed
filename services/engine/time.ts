/** Event-time helpers: epoch milliseconds inside the engine, RFC 3339 UTC with ms on the wire. */
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

const D0 = 48; // '0'

/** The last hour prefix ("2026-11-20T00") toMs saw, and its ms: events come in runs within the same hour. */
let cachedHour = '';
let cachedHourMs = 0;

/**
 * Parse RFC 3339 UTC with ms ("2026-11-20T00:05:12.283Z", the wire format the schema enforces) without
 * Date.parse's generic grammar; anything else falls back to Date.parse. The date and hour are parsed once per hour
 * seen (Date.UTC is linear in minutes, seconds and ms, so adding them to the hour's ms gives the same number).
 */
export function toMs(iso: string): number {
  if (iso.length !== 24 || iso.charCodeAt(23) !== 90 /* Z */ || iso.charCodeAt(19) !== 46 /* . */) return Date.parse(iso);
  if (cachedHour === '' || !iso.startsWith(cachedHour)) {
    cachedHour = iso.slice(0, 13);
    cachedHourMs = Date.UTC(digits(iso, 0, 4), digits(iso, 5, 2) - 1, digits(iso, 8, 2), digits(iso, 11, 2));
  }
  const c = (i: number) => iso.charCodeAt(i) - D0;
  return cachedHourMs + (c(14) * 10 + c(15)) * MINUTE + (c(17) * 10 + c(18)) * 1000 + c(20) * 100 + c(21) * 10 + c(22);
}

function digits(s: string, i: number, len: number): number {
  let v = 0;
  for (let k = i; k < i + len; k++) v = v * 10 + (s.charCodeAt(k) - D0);
  return v;
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

export function hourStart(ms: number): number {
  return ms - (((ms % HOUR) + HOUR) % HOUR);
}
