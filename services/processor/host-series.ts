/**
 * Bounded per-host metric series. Host names come from events (input): a producer inventing names could grow every
 * `{region, host}` series without bound (until the OpenTelemetry cardinality cap hides new hosts as
 * `otel_metric_overflow`). The policy's `hostSeries` bounds it:
 *
 * - at most `maxHosts` hosts have their own series; an event of another host while the table is full is counted
 *   under host `_other` (FOLDED_HOST) and in signwatch_host_series_folded_total{region};
 * - a host that sent nothing for `evictAfter` (wall time) leaves the table: its gauges and exact counters are gone
 *   from the next scrape (Prometheus marks them stale) and its place is free for a new host.
 *
 * The unlock latency histogram is the SDK's (its series cannot be dropped): it gets its own table of at most
 * `maxHosts` hosts for the life of the process, never evicted, so it is bounded too.
 */

/** The host label of folded series. Not a valid DNS host name, so no real host can take it. */
export const FOLDED_HOST = '_other';

export interface HostSeriesLimits {
  maxHosts: number;
  evictAfterMs: number;
}

export class HostSeries {
  /** region\0host → last event (wall ms); insertion order is refreshed on every event, so the oldest come first. */
  private readonly seen = new Map<string, number>();
  /** Hosts labelled in the (never evicted) histogram. */
  private readonly histogram = new Set<string>();
  private lastSweep = 0;

  constructor(
    readonly limits: HostSeriesLimits,
    private readonly onEvict: (key: string) => void,
  ) {}

  /** Tracked hosts now. */
  get size(): number {
    return this.seen.size;
  }

  /** The host label for an event of `key` (region\0host) at `now`: the host itself, or FOLDED_HOST. */
  admit(key: string, host: string, now: number): string {
    if (this.seen.has(key)) {
      this.seen.delete(key); // re-insert: the map stays ordered by last event
      this.seen.set(key, now);
      return host;
    }
    if (this.seen.size >= this.limits.maxHosts) this.sweep(now, true);
    if (this.seen.size >= this.limits.maxHosts) return FOLDED_HOST;
    this.seen.set(key, now);
    return host;
  }

  /** The host label of the unlock histogram (at most maxHosts distinct hosts for the process's life). */
  histogramHost(key: string, host: string, admitted: string): string {
    if (admitted === FOLDED_HOST) return FOLDED_HOST;
    if (this.histogram.has(key)) return host;
    if (this.histogram.size >= this.limits.maxHosts) return FOLDED_HOST;
    this.histogram.add(key);
    return host;
  }

  /** Evict hosts silent for evictAfter; at most once a minute unless `force`. Returns how many left. */
  sweep(now: number, force = false): number {
    if (!force && now - this.lastSweep < 60_000) return 0;
    this.lastSweep = now;
    const cutoff = now - this.limits.evictAfterMs;
    let n = 0;
    for (const [key, at] of this.seen) {
      if (at > cutoff) break; // ordered by last event: the rest are newer
      this.seen.delete(key);
      this.onEvict(key);
      n++;
    }
    return n;
  }
}
