/** Event-time helpers: epoch milliseconds inside the engine, RFC 3339 UTC with ms on the wire. */
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export function toMs(iso: string): number {
  return Date.parse(iso);
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

export function hourStart(ms: number): number {
  return ms - (((ms % HOUR) + HOUR) % HOUR);
}
