/**
 * Remembers event ids for `horizon` of event time, so that the same id counts once however often it arrives.
 * Ids are kept in one small Set per hour of event time (a duplicate carries the same ts, so the same hour):
 * lookups touch a set that fits in cache, and forgetting an hour drops a whole set at once. Memory is bounded by
 * the events of the horizon, not by history: anything older than the horizon is expired anyway.
 */
import { HOUR } from './time.js';

export class Dedup {
  private readonly byHour = new Map<number, Set<string>>();
  private lastHour = NaN;
  private lastSet: Set<string> | undefined;
  private oldestHour = Infinity;

  constructor(private readonly horizon: number) {}

  get size(): number {
    let n = 0;
    for (const s of this.byHour.values()) n += s.size;
    return n;
  }

  /** Remember id; returns false when it was already remembered (a duplicate). */
  add(id: string, ts: number): boolean {
    const hour = ts - (((ts % HOUR) + HOUR) % HOUR);
    let set: Set<string> | undefined;
    if (hour === this.lastHour) set = this.lastSet!;
    else {
      set = this.byHour.get(hour);
      if (!set) {
        set = new Set();
        this.byHour.set(hour, set);
        if (hour < this.oldestHour) this.oldestHour = hour;
      }
      this.lastHour = hour;
      this.lastSet = set;
    }
    const before = set.size;
    set.add(id);
    return set.size !== before;
  }

  /** Forget the ids of every hour that ends before clock − horizon. */
  evict(clock: number): void {
    const edge = clock - this.horizon;
    if (this.oldestHour + HOUR > edge) return;
    let oldest = Infinity;
    for (const hour of [...this.byHour.keys()]) {
      if (hour + HOUR <= edge) {
        this.byHour.delete(hour);
        if (hour === this.lastHour) {
          this.lastHour = NaN;
          this.lastSet = undefined;
        }
      } else if (hour < oldest) oldest = hour;
    }
    this.oldestHour = oldest;
  }
}
