/** Event-time helpers: epoch milliseconds inside the engine, RFC 3339 UTC with ms on the wire. */
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

const D0 = 48; // '0'

function digits(s: string, i: number, len: number): number {
  let v = 0;
  for (let k = i; k < i + len; k++) v = v * 10 + (s.charCodeAt(k) - D0);
  return v;
}

/** Start of a UTC hour; years 0–99 are years 0–99 (Date.UTC alone maps them to 1900–1999). */
export function utcHourMs(year: number, month0: number, day: number, hour: number): number {
  if (year >= 100) return Date.UTC(year, month0, day, hour);
  const d = new Date(Date.UTC(2000, month0, day, hour));
  d.setUTCFullYear(year);
  return d.getTime();
}

/** The wire format the schema enforces: "2026-11-20T00:05:12.283Z" (24 characters, ms, Z). */
const isWireTs = (iso: string): boolean => iso.length === 24 && iso.charCodeAt(23) === 90 /* Z */ && iso.charCodeAt(19) === 46; /* . */

const withinHour = (iso: string): number => {
  const c = (i: number) => iso.charCodeAt(i) - D0;
  return (c(14) * 10 + c(15)) * MINUTE + (c(17) * 10 + c(18)) * 1000 + c(20) * 100 + c(21) * 10 + c(22);
};

const hourOf = (iso: string): number => utcHourMs(digits(iso, 0, 4), digits(iso, 5, 2) - 1, digits(iso, 8, 2), digits(iso, 11, 2));

/** RFC 3339 → epoch ms without Date.parse's generic grammar (anything but the wire format falls back to it). */
export function toMs(iso: string): number {
  return isWireTs(iso) ? hourOf(iso) + withinHour(iso) : Date.parse(iso);
}

/**
 * toMs for a hot path that sees runs of events within the same hour (the engine, a store's ingest): the date and
 * hour are parsed once per hour seen (Date.UTC is linear in minutes, seconds and ms, so adding them to the hour's
 * ms gives the same number). One per owner, never shared: its memory is the owner's.
 */
export class TimestampParser {
  private hour = '';
  private hourMs = 0;

  toMs(iso: string): number {
    if (!isWireTs(iso)) return Date.parse(iso);
    if (this.hour === '' || !iso.startsWith(this.hour)) {
      this.hour = iso.slice(0, 13);
      this.hourMs = hourOf(iso);
    }
    return this.hourMs + withinHour(iso);
  }
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

export function hourStart(ms: number): number {
  return ms - (((ms % HOUR) + HOUR) % HOUR);
}

/** Why an event is a future_timestamp: what it claimed, against which reference time, and the bound. */
export function futureReason(ts: string, refMs: number, maxFutureSkew: number): string {
  return `future_timestamp: ts ${ts} is ${Math.round((Date.parse(ts) - refMs) / 1000)} s ahead of the record time ${toIso(refMs)} (max ${maxFutureSkew / 1000} s)`;
}
