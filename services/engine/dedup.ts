/**
 * Remembers event ids for `horizon` of event time, so that the same id counts once however often it arrives.
 * Memory is bounded by the events of the horizon, not by history: ids are grouped by hour of event time and whole
 * hours are forgotten once the clock is past them by more than the horizon (anything that old is expired anyway).
 */
import { HOUR } from './time.js';

export class Dedup {
  private readonly seen = new Set<string>();
  private readonly byHour = new Map<number, string[]>();
  private oldestHour = Infinity;

  constructor(private readonly horizon: number) {}

  get size(): number {
    return this.seen.size;
  }

  has(id: string): boolean {
    return this.seen.has(id);
  }

  add(id: string, ts: number): void {
    this.seen.add(id);
    const hour = ts - (((ts % HOUR) + HOUR) % HOUR);
    let ids = this.byHour.get(hour);
    if (!ids) {
      this.byHour.set(hour, (ids = []));
      if (hour < this.oldestHour) this.oldestHour = hour;
    }
    ids.push(id);
  }

  /** Forget ids whose whole hour ends before clock − horizon. */
  evict(clock: number): void {
    const edge = clock - this.horizon;
    if (this.oldestHour + HOUR > edge) return;
    let oldest = Infinity;
    for (const [hour, ids] of this.byHour) {
      if (hour + HOUR <= edge) {
        for (const id of ids) this.seen.delete(id);
        this.byHour.delete(hour);
      } else if (hour < oldest) oldest = hour;
    }
    this.oldestHour = oldest;
  }
}
