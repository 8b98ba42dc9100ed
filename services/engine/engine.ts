/**
 * The alert engine: validate (done by the caller) → dedup by id → lateness → event-time windows → rule state
 * machines → transitions, plus hourly aggregates. No I/O, no wall clock: time comes from event timestamps and from
 * advanceTo() (the live processor's wall-clock tick, replay's --until).
 *
 * Time is kept per region: each region has its own clock (the largest event time seen for it, or the last
 * advanceTo()), dedup memory, windows and hourly buckets. Since events are keyed by region on Kafka, a region's
 * state lives in exactly one partition, so the output does not depend on how regions are spread over partitions
 * and processor instances: `signwatch replay` over the whole stream equals the live processor.
 *
 * An event is late when ts < region clock − allowedLateness: it is aggregated (hourly) but never reaches the rules.
 * It is expired when ts < region clock − hourlyRetention: too old even for the aggregates (the store keeps it).
 */
import { REGIONS, type EventType, type Region, type SignEvent } from '../../schemas/events.js';
import type { Policy } from '../../schemas/policy.js';
import { Dedup } from './dedup.js';
import { HourlyAggregator } from './hourly.js';
import type { Rule, RuleFactory } from './rule.js';
import { KeychainFailures } from './rules/keychain-failures.js';
import { UnlockLatency } from './rules/unlock-latency.js';
import { CertExpiry } from './rules/cert-expiry.js';
import { RULES } from './topology.js';
import { toIso, toMs, DAY } from './time.js';
import type { AlertEngine, EngineStats, HourlyAggregate, OfferOutcome, RegionSnapshot, Sink, Transition } from './types.js';

interface RegionState {
  region: Region;
  clock: number;
  dedup: Dedup;
  hourly: HourlyAggregator;
  rules: Rule[];
  byType: Map<EventType, Rule[]>;
}

export interface EngineOptions {
  rules?: readonly RuleFactory[];
}

class Engine implements AlertEngine {
  private readonly regions = new Map<Region, RegionState>();
  private readonly out: Transition[] = [];
  private readonly emitHourly: (a: HourlyAggregate) => void;
  readonly stats: EngineStats = { accepted: 0, duplicate: 0, late: 0, expired: 0, transitions: 0 };

  constructor(
    private readonly policy: Readonly<Policy>,
    private readonly sink: Sink,
    opts: EngineOptions,
  ) {
    const factories = (opts.rules ?? RULES).filter((f) => policy.alerts[f.alert].enabled);
    for (const region of REGIONS) {
      const rules = factories.map((f) => f.create(region, policy));
      const byType = new Map<EventType, Rule[]>();
      factories.forEach((f, i) => {
        for (const t of f.types) {
          const list = byType.get(t) ?? [];
          list.push(rules[i]!);
          byType.set(t, list);
        }
      });
      this.regions.set(region, {
        region,
        clock: -Infinity,
        dedup: new Dedup(policy.hourlyRetention),
        hourly: new HourlyAggregator(region, policy.allowedLateness, policy.hourlyRetention),
        rules,
        byType,
      });
    }
    this.emitHourly = (a) => this.sink.hourly(a);
  }

  offer(event: SignEvent): OfferOutcome {
    const r = this.regions.get(event.region)!;
    const ts = toMs(event.ts);
    // older than what the engine remembers at all (ids and hourly buckets): expired, whether or not a duplicate
    if (ts < r.clock - this.policy.hourlyRetention) {
      this.stats.expired++;
      return 'expired';
    }
    if (!r.dedup.add(event.id, ts)) {
      this.stats.duplicate++;
      return 'duplicate';
    }
    if (ts < r.clock - this.policy.allowedLateness) {
      this.stats.late++;
      r.hourly.add(event, ts, true);
      r.hourly.advance(r.clock, this.emitHourly);
      return 'late';
    }
    this.stats.accepted++;
    r.hourly.add(event, ts, false);
    const rules = r.byType.get(event.type);
    if (rules) {
      // Evaluate every instant before this event without it (causality), then observe it and evaluate at ts.
      if (ts - 1 > r.clock) this.advanceRules(r, ts - 1);
      for (const rule of rules) rule.observe(event, ts);
    }
    this.step(r, ts > r.clock ? ts : r.clock);
    return 'accepted';
  }

  advanceTo(nowMs: number): void {
    for (const r of this.regions.values()) {
      if (nowMs > r.clock) this.step(r, nowMs);
    }
  }

  flush(): void {
    for (const r of this.regions.values()) r.hourly.flush(this.emitHourly);
  }

  /** Advance the region's rules to `to` and emit their transitions, in time order. */
  private advanceRules(r: RegionState, to: number): void {
    for (const rule of r.rules) rule.advance(to, this.out);
    this.drain();
  }

  /** Move the region's clock to `to`: rules, then hourly buckets the clock closes, then dedup memory. */
  private step(r: RegionState, to: number): void {
    this.advanceRules(r, to);
    const moved = to > r.clock;
    r.clock = to;
    if (moved) {
      r.hourly.advance(to, this.emitHourly);
      r.dedup.evict(to);
    }
  }

  private drain(): void {
    const out = this.out;
    if (out.length) {
      if (out.length > 1) out.sort((a, b) => toMs(a.at) - toMs(b.at)); // stable: rule order breaks ties
      for (const t of out) this.sink.transition(t);
      this.stats.transitions += out.length;
      out.length = 0;
    }
  }

  snapshot(): RegionSnapshot[] {
    const snaps: RegionSnapshot[] = [];
    for (const r of this.regions.values()) {
      const s: RegionSnapshot = {
        region: r.region,
        clock: Number.isFinite(r.clock) ? toIso(r.clock) : null,
        keychainFailures: 0,
        unlockP95: null,
        unlockSamples: 0,
        firing: [],
        certs: [],
      };
      for (const rule of r.rules) {
        for (const f of rule.firing()) s.firing.push({ alert: f.alert, labels: f.labels, since: toIso(f.since), value: f.value });
        if (rule instanceof KeychainFailures) s.keychainFailures = rule.count;
        else if (rule instanceof UnlockLatency) {
          s.unlockP95 = rule.p95;
          s.unlockSamples = rule.samples;
        } else if (rule instanceof CertExpiry) {
          for (const c of rule.certs.values()) {
            s.certs.push({
              sha1: c.sha1,
              subject: c.subject,
              notAfter: toIso(c.notAfter),
              daysToExpiry: Number.isFinite(r.clock) ? Math.round(((c.notAfter - r.clock) / DAY) * 1000) / 1000 : 0,
              hosts: [...c.hosts.keys()].sort(),
            });
          }
        }
      }
      snaps.push(s);
    }
    return snaps;
  }
}

export function createEngine(policy: Readonly<Policy>, sink: Sink, opts: EngineOptions = {}): AlertEngine {
  return new Engine(policy, sink, opts);
}

/** A Sink that keeps everything in memory (tests, replay comparisons). */
export class MemorySink implements Sink {
  readonly transitions: Transition[] = [];
  readonly hourlies: HourlyAggregate[] = [];
  transition(t: Transition): void {
    this.transitions.push(t);
  }
  hourly(a: HourlyAggregate): void {
    this.hourlies.push(a);
  }
}
