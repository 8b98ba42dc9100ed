/**
 * Remembers event ids for `horizon` of event time, so that the same id counts once however often it arrives.
 * Ids are kept in one small Set per hour of event time (a duplicate carries the same ts, so the same hour):
 * lookups touch a set that fits in cache, and forgetting an hour drops a whole set at once. Memory is bounded by
 * the events of the horizon, not by history: anything older than the horizon is expired anyway.
 *
 * An hour the clock has left behind by more than an hour is packed: its ids become one string ("\n" before and
 * after each; ids are ULIDs or UUIDs, never with a newline — an hour holding one stays a Set). With a 48 h horizon
 * that is ~47 of 48 hours: the engine's state then holds ~50 strings instead of ~1.5 M, so a checkpoint is written
 * and read back without walking, allocating and hashing every id (services/processor/checkpoint.ts), and the heap
 * the GC scans is smaller. A packed hour that is looked up again (a late or duplicate event of that hour) is
 * unpacked into a Set first and packed again when the clock next crosses an hour: the answers are exactly those of
 * one Set per hour, and an old hour flooded with ids costs one unpacking per hour of event time, not a scan each.
 */
import { HOUR } from './time.js';

/**
 * The clock's hour at each Dedup's last packing. Outside the object on purpose: packing is a representation, not
 * state, so the saved graph (and its shape fingerprint) is what it was before packing existed — a checkpoint of an
 * earlier release still loads, and a restored Dedup packs at its first evict().
 */
const packedAt = new WeakMap<Dedup, number>();

export class Dedup {
  /** hour → its ids: a Set, or packed ("\nid1\nid2\n"). */
  private readonly byHour = new Map<number, Set<string> | string>();
  private lastHour = NaN;
  private lastSet: Set<string> | undefined;
  private oldestHour = Infinity;

  constructor(private readonly horizon: number) {}

  get size(): number {
    let n = 0;
    for (const s of this.byHour.values()) n += typeof s === 'string' ? countIds(s) : s.size;
    return n;
  }

  /** Remember id; returns false when it was already remembered (a duplicate). */
  add(id: string, ts: number): boolean {
    const hour = ts - (((ts % HOUR) + HOUR) % HOUR);
    let set: Set<string> | undefined;
    if (hour === this.lastHour) set = this.lastSet!;
    else {
      const have = this.byHour.get(hour);
      if (have === undefined) {
        set = new Set();
        this.byHour.set(hour, set);
        if (hour < this.oldestHour) this.oldestHour = hour;
      } else if (typeof have === 'string') {
        set = unpack(have);
        this.byHour.set(hour, set);
      } else set = have;
      this.lastHour = hour;
      this.lastSet = set;
    }
    const before = set.size;
    set.add(id);
    return set.size !== before;
  }

  /** Forget the ids of every hour that ends before clock − horizon; pack the hours the clock left an hour ago. */
  evict(clock: number): void {
    const clockHour = clock - (((clock % HOUR) + HOUR) % HOUR);
    if (clockHour > (packedAt.get(this) ?? -Infinity)) this.pack(clockHour);
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

  private pack(clockHour: number): void {
    packedAt.set(this, clockHour);
    for (const [hour, ids] of this.byHour) {
      if (typeof ids === 'string' || hour + 2 * HOUR > clockHour) continue;
      const packed = packIds(ids);
      if (packed === undefined) continue;
      this.byHour.set(hour, packed);
      if (hour === this.lastHour) {
        this.lastHour = NaN;
        this.lastSet = undefined;
      }
    }
  }
}

/** "\nid1\nid2\n", or undefined when an id holds a newline (then the hour stays a Set). */
function packIds(ids: Set<string>): string | undefined {
  for (const id of ids) if (id.includes('\n')) return undefined;
  return ids.size === 0 ? '\n' : `\n${[...ids].join('\n')}\n`;
}

function unpack(packed: string): Set<string> {
  return new Set(packed.length <= 1 ? [] : packed.slice(1, -1).split('\n'));
}

function countIds(packed: string): number {
  let n = -1;
  for (let i = packed.indexOf('\n'); i >= 0; i = packed.indexOf('\n', i + 1)) n++;
  return Math.max(0, n);
}
