/**
 * A sliding event-time window (t − width, t] over time-ordered entries, moved forward only.
 *
 * Entries may be inserted out of order (binary insertion); the window keeps two cursors:
 * `lo` (first entry with ts > pos − width) and `hi` (first entry with ts > pos). Entering and leaving
 * entries are reported through hooks so that rules can maintain counts or order statistics incrementally.
 * Memory is bounded by what the window holds plus entries not yet reached: old entries are compacted away.
 */
export interface WindowHooks<T> {
  enter?(item: T): void;
  leave?(item: T): void;
}

export class SlidingWindow<T> {
  private times: number[] = [];
  private items: T[] = [];
  private lo = 0;
  private hi = 0;
  private pos = -Infinity;

  constructor(
    readonly width: number,
    private readonly hooks: WindowHooks<T> = {},
  ) {}

  get position(): number {
    return this.pos;
  }

  /** Entries inside the window (pos − width, pos]. */
  get count(): number {
    return this.hi - this.lo;
  }

  /** Insert an entry; if its time is inside the current window it enters at once. */
  insert(ts: number, item: T): void {
    const times = this.times;
    let idx = times.length;
    if (idx > 0 && times[idx - 1]! > ts) {
      let a = 0;
      let b = idx;
      while (a < b) {
        const m = (a + b) >>> 1;
        if (times[m]! <= ts) a = m + 1;
        else b = m;
      }
      idx = a;
    }
    if (idx === times.length) {
      times.push(ts);
      this.items.push(item);
    } else {
      times.splice(idx, 0, ts);
      this.items.splice(idx, 0, item);
    }
    if (ts <= this.pos - this.width) {
      this.lo++;
      this.hi++;
    } else if (ts <= this.pos) {
      this.hi++;
      this.hooks.enter?.(item);
    }
  }

  /** Move the window's end to `t` (never backwards). */
  moveTo(t: number): void {
    if (t <= this.pos) return;
    this.pos = t;
    const times = this.times;
    const n = times.length;
    while (this.hi < n && times[this.hi]! <= t) {
      this.hooks.enter?.(this.items[this.hi]!);
      this.hi++;
    }
    const edge = t - this.width;
    while (this.lo < this.hi && times[this.lo]! <= edge) {
      this.hooks.leave?.(this.items[this.lo]!);
      this.lo++;
    }
    if (this.lo > 1024 && this.lo * 2 > n) {
      this.times.splice(0, this.lo);
      this.items.splice(0, this.lo);
      this.hi -= this.lo;
      this.lo = 0;
    }
  }

  /** The next instant after the current position at which the window's content changes (Infinity if none). */
  nextChange(): number {
    const enter = this.hi < this.times.length ? this.times[this.hi]! : Infinity;
    const leave = this.lo < this.hi ? this.times[this.lo]! + this.width : Infinity;
    return enter < leave ? enter : leave;
  }

  /** Iterate the entries inside the window, oldest first. */
  *entries(): IterableIterator<T> {
    for (let i = this.lo; i < this.hi; i++) yield this.items[i]!;
  }

  /** Time of the oldest entry inside the window, or undefined. */
  oldest(): number | undefined {
    return this.lo < this.hi ? this.times[this.lo] : undefined;
  }
}
