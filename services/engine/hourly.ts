/**
 * Hourly tumbling aggregates for one region: one bucket for the region and one per host, per UTC hour.
 *
 * A bucket is emitted `final` once the region's clock passes hour end + allowed lateness (no on-time event can reach
 * it any more). It is kept for `retention` after that: a late event that lands in it re-emits it with revision + 1.
 * flush() emits still-open buckets with final = false. Unlock latency percentiles come from a DDSketch with 1 %
 * relative accuracy, serialised in the output so that partial buckets can be merged across partitions/instances.
 */
import { DDSketch } from '@datadog/sketches-js';
import type { Region, SignEvent } from '../../schemas/events.js';
import { HOUR, toIso } from './time.js';
import type { HourlyAggregate } from './types.js';

export const SKETCH_RELATIVE_ACCURACY = 0.01;

class BucketData {
  events = 0;
  late = 0;
  csTotal = 0;
  csFailed = 0;
  csKeychain = 0;
  /** Keyed by the events' error codes (input): null prototype, so `constructor` is a code like any other. */
  byErrorCode: Record<string, number> = Object.create(null) as Record<string, number>;
  unlockCount = 0;
  unlockFailed = 0;
  sketch: DDSketch | undefined;
  notarize = { accepted: 0, invalid: 0, rejected: 0, error: 0 };
  errorByClass: Record<string, number> = Object.create(null) as Record<string, number>;

  add(e: SignEvent, late: boolean): void {
    this.events++;
    if (late) this.late++;
    switch (e.type) {
      case 'codesign':
        this.csTotal++;
        if (e.outcome === 'fail') {
          this.csFailed++;
          if (e.error?.class === 'keychain') this.csKeychain++;
          const code = e.error?.code ?? 'unknown';
          this.byErrorCode[code] = (this.byErrorCode[code] ?? 0) + 1;
        }
        break;
      case 'unlock':
        this.unlockCount++;
        if (e.outcome === 'fail') this.unlockFailed++;
        (this.sketch ??= new DDSketch({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY })).accept(e.durationMs);
        break;
      case 'notarize':
        this.notarize[e.outcome]++;
        if (e.outcome === 'error' && e.error) this.errorByClass[e.error.class] = (this.errorByClass[e.error.class] ?? 0) + 1;
        break;
      default:
        break;
    }
  }

  toAggregate(hour: number, region: Region, host: string | null, final: boolean, revision: number): HourlyAggregate {
    const s = this.sketch;
    const q = (x: number) => (s && s.count > 0 ? Math.round(s.getValueAtQuantile(x) * 1000) / 1000 : null);
    return {
      kind: 'hourly',
      hour: toIso(hour),
      region,
      host,
      final,
      revision,
      events: this.events,
      late: this.late,
      codesign: { total: this.csTotal, failed: this.csFailed, keychainFailed: this.csKeychain, byErrorCode: { ...this.byErrorCode } },
      unlock: {
        count: this.unlockCount,
        failed: this.unlockFailed,
        p50: q(0.5),
        p95: q(0.95),
        p99: q(0.99),
        max: s && s.count > 0 ? s.max : null,
        sketch: s ? Buffer.from(s.toProto()).toString('base64') : '',
      },
      notarize: { ...this.notarize, errorByClass: { ...this.errorByClass } },
    };
  }
}

interface Bucket {
  hour: number;
  region: BucketData;
  hosts: Map<string, BucketData>;
  emitted: boolean;
  revision: number;
  dirtyHosts: Set<string> | undefined;
}

export class HourlyAggregator {
  private readonly buckets = new Map<number, Bucket>();
  private readonly dirty: Bucket[] = [];

  constructor(
    private readonly region: Region,
    private readonly lateness: number,
    private readonly retention: number,
  ) {}

  /** An aggregator holding one bucket with an unlock sketch: the classes its state is made of (engine checkpoints). */
  static sample(): HourlyAggregator {
    const a = new HourlyAggregator('HK', 0, 0);
    a.add({ type: 'unlock', host: 'sample', durationMs: 1, outcome: 'ok' } as SignEvent, 0, false);
    return a;
  }

  add(e: SignEvent, ts: number, late: boolean): void {
    const hour = ts - (((ts % HOUR) + HOUR) % HOUR);
    let b = this.buckets.get(hour);
    if (!b) {
      b = { hour, region: new BucketData(), hosts: new Map(), emitted: false, revision: 0, dirtyHosts: undefined };
      this.buckets.set(hour, b);
      this.nextDue = Math.min(this.nextDue, hour + HOUR + this.lateness);
    }
    b.region.add(e, late);
    let h = b.hosts.get(e.host);
    if (!h) b.hosts.set(e.host, (h = new BucketData()));
    h.add(e, late);
    if (b.emitted) {
      if (!b.dirtyHosts) {
        b.dirtyHosts = new Set();
        this.dirty.push(b);
      }
      b.dirtyHosts.add(e.host);
    }
  }

  /** Emit buckets the clock has closed, revisions of emitted ones, and forget buckets past retention. */
  advance(clock: number, emit: (a: HourlyAggregate) => void): void {
    if (this.dirty.length) {
      for (const b of this.dirty.sort((x, y) => x.hour - y.hour)) {
        b.revision++;
        emit(b.region.toAggregate(b.hour, this.region, null, true, b.revision));
        for (const host of [...b.dirtyHosts!].sort()) emit(b.hosts.get(host)!.toAggregate(b.hour, this.region, host, true, b.revision));
        b.dirtyHosts = undefined;
      }
      this.dirty.length = 0;
    }
    if (clock < this.nextDue) return;
    const closing: Bucket[] = [];
    let next = Infinity;
    for (const b of this.buckets.values()) {
      if (!b.emitted && clock >= b.hour + HOUR + this.lateness) closing.push(b);
      else if (b.emitted && clock >= b.hour + HOUR + this.retention) this.buckets.delete(b.hour);
      else next = Math.min(next, b.hour + HOUR + (b.emitted ? this.retention : this.lateness));
    }
    for (const b of closing) next = Math.min(next, b.hour + HOUR + this.retention);
    this.nextDue = next;
    for (const b of closing.sort((x, y) => x.hour - y.hour)) this.emitBucket(b, true, emit);
  }

  /** Earliest clock at which some bucket closes or expires (so advance() can skip the scan). */
  private nextDue = Infinity;

  /** Emit every bucket not yet emitted, as not final (end of replay, shutdown). Idempotent. */
  flush(emit: (a: HourlyAggregate) => void): void {
    const open = [...this.buckets.values()].filter((b) => !b.emitted).sort((x, y) => x.hour - y.hour);
    for (const b of open) this.emitBucket(b, false, emit);
  }

  private emitBucket(b: Bucket, final: boolean, emit: (a: HourlyAggregate) => void): void {
    b.emitted = true;
    b.revision = 1;
    emit(b.region.toAggregate(b.hour, this.region, null, final, 1));
    for (const host of [...b.hosts.keys()].sort()) emit(b.hosts.get(host)!.toAggregate(b.hour, this.region, host, final, 1));
  }
}
