/**
 * The processor's metrics (names from services/platform/metric-names.ts, so dashboards and rules cannot drift):
 * exact alert inputs per region from the engines' snapshots, pipeline counters (in / invalid / duplicate / late /
 * expired / dead-lettered / transitions), consumer lag, and the per-host series the dashboards split by.
 * Counters count live records only: records re-read while rebuilding state after a restart were counted by the
 * previous process (Prometheus handles the counter reset).
 */
import type { Attributes, Counter, Histogram } from '@opentelemetry/api';
import type { GaugeSample, Telemetry } from '../platform/telemetry.js';
import { HostSeries } from './host-series.js';

/** How long a resolved alert's signwatch_alert_firing series stays on /metrics as 0. */
const RESOLVED_KEPT_MS = 3_600_000;
import { REGIONS, type SignEvent } from '../../schemas/events.js';
import { alertConfig, type Policy } from '../engine/policy.js';
import { METRICS } from '../platform/metric-names.js';
import { enabledRules, freezingAlerts } from '../engine/engine.js';
import { RULES, type Registry } from '../engine/rules/index.js';
import type { OfferOutcome, RegionSnapshot, Transition } from '../engine/types.js';

/** Low-cardinality reason label of a rejected record. */
export function reasonLabel(reason: string): string {
  if (reason.startsWith('oversized')) return 'oversized';
  if (reason.startsWith('not JSON')) return 'not_json';
  if (reason.startsWith('schema')) return 'schema';
  if (reason.startsWith('empty')) return 'empty';
  if (reason.startsWith('future_timestamp')) return 'future_timestamp';
  if (reason.startsWith('undecodable_batch')) return 'undecodable_batch';
  return 'other';
}

interface HostGauge {
  region: string;
  host: string;
  value: number;
}

/** One series of an exact per-host counter. */
interface HostCount {
  labels: Attributes;
  value: number;
  startMs: number;
}

export class ProcessorMetrics {
  private readonly eventsIn: Counter;
  private readonly invalid: Counter;
  private readonly duplicate: Counter;
  private readonly late: Counter;
  private readonly expired: Counter;
  private readonly future: Counter;
  private readonly deadLettered: Counter;
  private readonly transitions: Counter;
  private readonly rerouted: Counter;
  /** topic/partition → the batch offset that keeps failing and how many times in a row. */
  private readonly failing = new Map<string, { topic: string; partition: number; offset: number; failures: number }>();
  /** region\0host → its series of signwatch_host_events / signwatch_host_codesign_errors (dropped with the host). */
  private readonly hostEvents = new Map<string, Map<string, HostCount>>();
  private readonly hostErrors = new Map<string, Map<string, HostCount>>();
  private readonly hosts: HostSeries;
  private readonly folded: Counter;
  private readonly evicted: Counter;
  private readonly notarize: Counter;
  private readonly unlockDuration: Histogram;
  private readonly lag = new Map<string, { topic: string; partition: number; lag: number }>();
  /** Counter increments gathered per batch and added once per label set (OTel add() per event is costly). */
  private readonly pendingCounts = new Map<string, { counter: Counter; attrs: Attributes; n: number }>();
  private readonly spoolDepth = new Map<string, HostGauge>();
  private readonly lastHeartbeat = new Map<string, HostGauge>();
  /** region/host → the host's last `agent doctor` verdict (1 ready, 0 not) and its event time. */
  private readonly doctor = new Map<string, HostGauge & { ts: number }>();

  /** alert label set → its labels and when a scrape last saw it firing (wall ms): 0 is exported for an hour after. */
  private readonly firingSeen = new Map<string, { labels: Attributes; at: number }>();

  constructor(
    telemetry: Pick<Telemetry, 'meter' | 'exactGauge' | 'exactCounter'>,
    policy: Readonly<Policy>,
    snapshots: () => RegionSnapshot[],
    private readonly now: () => number = Date.now,
    rules: Registry = RULES,
  ) {
    const meter = telemetry.meter;
    const limits = policy.hostSeries ?? { maxHosts: 2000, evictAfter: 86_400_000 };
    this.hosts = new HostSeries({ maxHosts: limits.maxHosts, evictAfterMs: Math.max(60_000, limits.evictAfter) }, (key) => {
      this.hostEvents.delete(key);
      this.hostErrors.delete(key);
      this.spoolDepth.delete(key);
      this.lastHeartbeat.delete(key);
      this.evicted.add(1);
    });
    this.folded = meter.createCounter(METRICS.hostSeriesFolded, { description: 'Events of hosts beyond the policy hostSeries.maxHosts, counted under host _other' });
    this.evicted = meter.createCounter(METRICS.hostSeriesEvicted, { description: 'Hosts whose series were dropped after hostSeries.evictAfter without an event' });
    // created at start-up (zero), so "nothing folded" reads 0, not "no data"
    for (const region of REGIONS) this.folded.add(0, { region });
    this.evicted.add(0);
    telemetry.exactGauge(METRICS.hostSeriesHosts, 'Hosts with their own per-host series (bounded by the policy hostSeries.maxHosts)', () => [{ labels: {}, value: this.hosts.size }]);
    this.eventsIn = meter.createCounter(METRICS.eventsIn, { description: 'Valid events consumed, by region and type' });
    this.invalid = meter.createCounter(METRICS.eventsInvalid, { description: 'Records rejected by validation (oversized, not JSON, schema)' });
    this.duplicate = meter.createCounter(METRICS.eventsDuplicate, { description: 'Events whose id was already seen (counted once)' });
    this.late = meter.createCounter(METRICS.eventsLate, { description: 'Events older than the watermark minus the allowed lateness: aggregated, never paged' });
    this.expired = meter.createCounter(METRICS.eventsExpired, { description: 'Events older than the hourly retention: not aggregated' });
    this.future = meter.createCounter(METRICS.eventsFuture, { description: 'Events stamped more than maxFutureSkew ahead of their record time: dead-lettered as future_timestamp' });
    this.deadLettered = meter.createCounter(METRICS.deadLettered, { description: 'Records written to the dead-letter topic' });
    this.transitions = meter.createCounter(METRICS.transitions, { description: 'Alert transitions produced to the alert topic' });
    this.rerouted = meter.createCounter(METRICS.eventsRerouted, { description: "Valid events read from another partition than their region's, forwarded there" });
    telemetry.exactGauge(METRICS.partitionFailures, 'Times in a row the batch at this offset failed (the partition is retried with backoff); gone once it commits past it', () =>
      [...this.failing.values()].map((f) => ({ labels: { topic: f.topic, partition: String(f.partition), offset: String(f.offset) }, value: f.failures })),
    );
    const hostCounter = (name: string, description: string, map: Map<string, Map<string, HostCount>>) =>
      telemetry.exactCounter(name, description, function* () {
        for (const series of map.values()) for (const c of series.values()) yield { labels: c.labels, value: c.value, startMs: c.startMs };
      });
    hostCounter(METRICS.hostEvents, 'Events per host, type and outcome', this.hostEvents);
    hostCounter(METRICS.hostErrors, 'codesign failures per host and error code', this.hostErrors);
    this.notarize = meter.createCounter(METRICS.notarizeOutcomes, { description: 'Notarization outcomes (error class separates Apple API outages from ours)' });
    this.unlockDuration = meter.createHistogram(METRICS.unlockDuration, {
      description: 'Unlock helper latency',
      advice: { explicitBucketBoundaries: [50, 100, 200, 400, 800, 1600, 3200, 6400] },
    });

    // Gauges are exact (telemetry.exactGauge): each scrape holds what the engines hold now, nothing stale. Every
    // alert's own gauges (rules/<alert>/index.ts), read from the engines' snapshots:
    const defs = enabledRules(policy, rules);
    for (const d of defs) {
      for (const g of d.gauges) {
        telemetry.exactGauge(g.name, g.description, function* () {
          for (const s of snapshots()) for (const r of s.gauges) if (r.name === g.name) yield { labels: r.labels, value: r.value };
        });
      }
    }
    // the region's latest drill (services/engine/drill.ts): time to green once green, cohort hosts still pending
    for (const [name, description] of [
      [METRICS.drillTimeToGreen, "Seconds from the start of the region's latest drill to green (once green)"],
      [METRICS.drillPendingHosts, "Hosts of the region's latest drill still lacking a clean scan or a signing call with another identity"],
    ] as const) {
      telemetry.exactGauge(name, description, function* () {
        for (const s of snapshots()) for (const r of s.gauges) if (r.name === name) yield { labels: r.labels, value: r.value };
      });
    }
    const freezing = freezingAlerts(policy, rules);
    telemetry.exactGauge(METRICS.releaseFrozen, '1 while releases are frozen for the region (a firing alert whose policy says freezes)', function* () {
      for (const s of snapshots()) yield { labels: { region: s.region }, value: s.firing.some((f) => freezing.has(f.alert)) ? 1 : 0 };
    });
    // 1 while the alert fires; 0 for an hour after it resolved (dashboards draw the drop), then gone
    telemetry.exactGauge(METRICS.alertFiring, '1 while the alert fires, 0 for an hour after it resolved', () => {
      const t = this.now();
      const firing = new Set<string>();
      for (const s of snapshots()) {
        for (const f of s.firing) {
          const labels = { ...f.labels, alert: f.alert, region: s.region, severity: alertConfig(policy, f.alert).severity };
          const key = JSON.stringify(labels, Object.keys(labels).sort());
          firing.add(key);
          this.firingSeen.set(key, { labels, at: t });
        }
      }
      const out: GaugeSample[] = [];
      for (const [key, f] of this.firingSeen) {
        if (firing.has(key)) out.push({ labels: f.labels, value: 1 });
        else if (t - f.at < RESOLVED_KEPT_MS) out.push({ labels: f.labels, value: 0 });
        else this.firingSeen.delete(key);
      }
      return out;
    });
    telemetry.exactGauge(METRICS.consumerLag, 'Records between the consumer position and the high watermark', () =>
      [...this.lag.values()].map((l) => ({ labels: { topic: l.topic, partition: String(l.partition) }, value: l.lag })),
    );
    const hostGauge = (name: string, description: string, map: Map<string, HostGauge>, value: (g: HostGauge) => number) =>
      telemetry.exactGauge(name, description, () => [...map.values()].map((g) => ({ labels: { region: g.region, host: g.host }, value: value(g) })));
    hostGauge(METRICS.hostReady, "1 when the host's last agent doctor passed every check, 0 when one failed", this.doctor, (g) => g.value);
    const readyCount = (want: number) => () => {
      const by = new Map<string, number>();
      for (const g of this.doctor.values()) by.set(g.region, (by.get(g.region) ?? 0) + (g.value === want ? 1 : 0));
      return [...by].map(([region, value]) => ({ labels: { region }, value }));
    };
    telemetry.exactGauge(METRICS.hostsReady, "Hosts whose last agent doctor passed every check (production-ready)", readyCount(1));
    telemetry.exactGauge(METRICS.hostsNotReady, "Hosts whose last agent doctor failed a check (not ready to join the pool)", readyCount(0));
    hostGauge(METRICS.spoolDepth, 'Events waiting in the agent spool (from heartbeats)', this.spoolDepth, (g) => g.value);
    hostGauge(METRICS.heartbeatAge, 'Seconds since the host last sent a heartbeat (event time)', this.lastHeartbeat, (g) =>
      Math.max(0, Math.round((this.now() - g.value) / 100) / 10),
    );
  }

  /** A valid event (live or rebuilding): gauges always follow; counters only for live records. */
  onEvent(e: SignEvent, outcome: OfferOutcome, live: boolean): void {
    if (outcome === 'future') {
      // its time is a lie: it moves no gauge (a heartbeat from year 9999 must not make the host look fresh)
      if (live) this.count(this.future, `f\u0000${e.region}`, () => ({ region: e.region }));
      return;
    }
    const key = `${e.region}\u0000${e.host}`;
    const host = this.hosts.admit(key, e.host, this.now());
    const hostKey = host === e.host ? key : `${e.region}\u0000${host}`;
    if (host !== e.host && live) this.count(this.folded, `o\u0000${e.region}`, () => ({ region: e.region }));
    if (e.type === 'heartbeat' && host === e.host) {
      const ts = Date.parse(e.ts);
      const prev = this.lastHeartbeat.get(key);
      if (!prev || prev.value < ts) this.lastHeartbeat.set(key, { region: e.region, host: e.host, value: ts });
      if (e.spoolDepth !== undefined) this.spoolDepth.set(key, { region: e.region, host: e.host, value: e.spoolDepth });
    } else if (e.type === 'doctor') {
      // the newest verdict by event time wins (a re-read or late older result never overrides it)
      const ts = Date.parse(e.ts);
      const prev = this.doctor.get(key);
      if (!prev || prev.ts <= ts) this.doctor.set(key, { region: e.region, host: e.host, value: e.ready ? 1 : 0, ts });
    }
    if (!live) return;
    switch (outcome) {
      case 'duplicate':
        this.count(this.duplicate, `d\u0000${e.region}`, () => ({ region: e.region }));
        return;
      case 'expired':
        this.count(this.expired, `x\u0000${e.region}`, () => ({ region: e.region }));
        break;
      case 'late':
        this.count(this.late, `l\u0000${e.region}`, () => ({ region: e.region }));
        break;
      default:
        break;
    }
    this.count(this.eventsIn, `i\u0000${e.region}\u0000${e.type}`, () => ({ region: e.region, type: e.type }));
    const outcomeLabel = 'outcome' in e && typeof e.outcome === 'string' ? e.outcome : 'none';
    this.hostCount(this.hostEvents, hostKey, `${e.type}\u0000${outcomeLabel}`, () => ({ region: e.region, host, type: e.type, outcome: outcomeLabel }));
    if (e.type === 'codesign' && e.outcome === 'fail') {
      const code = e.error?.code ?? 'unknown';
      this.hostCount(this.hostErrors, hostKey, code, () => ({ region: e.region, host, code }));
    } else if (e.type === 'unlock') {
      this.unlockDuration.record(e.durationMs, { region: e.region, host: this.hosts.histogramHost(key, e.host, host) });
    } else if (e.type === 'notarize') {
      const cls = e.error?.class ?? 'none';
      this.count(this.notarize, `n\u0000${e.region}\u0000${e.outcome}\u0000${cls}`, () => ({ region: e.region, outcome: e.outcome, class: cls }));
    }
  }

  private hostCount(map: Map<string, Map<string, HostCount>>, hostKey: string, sub: string, labels: () => Attributes): void {
    let series = map.get(hostKey);
    if (!series) map.set(hostKey, (series = new Map<string, HostCount>()));
    const c = series.get(sub);
    if (c) c.value++;
    else series.set(sub, { labels: labels(), value: 1, startMs: this.now() });
  }

  private count(counter: Counter, key: string, attrs: () => Attributes): void {
    const c = this.pendingCounts.get(key);
    if (c) c.n++;
    else this.pendingCounts.set(key, { counter, attrs: attrs(), n: 1 });
  }

  /** Add the gathered counts to the OTel counters (end of every batch, and before a scrape). */
  flush(): void {
    for (const c of this.pendingCounts.values()) c.counter.add(c.n, c.attrs);
    this.pendingCounts.clear();
    this.hosts.sweep(this.now());
  }

  onInvalid(reason: string): void {
    this.invalid.add(1, { reason: reasonLabel(reason) });
  }

  onDeadLettered(reason: string): void {
    this.deadLettered.add(1, { reason: reasonLabel(reason) });
  }

  onTransition(t: Transition): void {
    this.transitions.add(1, { alert: t.alert, state: t.state });
  }

  onRerouted(region: string): void {
    this.rerouted.add(1, { region });
  }

  /** The batch at `offset` failed once more; returns how many times in a row. */
  onBatchFailed(topic: string, partition: number, offset: number): number {
    const k = `${topic}/${partition}`;
    const f = this.failing.get(k);
    const failures = f && f.offset === offset ? f.failures + 1 : 1;
    this.failing.set(k, { topic, partition, offset, failures });
    return failures;
  }

  /** The partition committed past `offset`: it is no longer failing there. */
  onCommitted(topic: string, partition: number, offset: number): void {
    const k = `${topic}/${partition}`;
    const f = this.failing.get(k);
    if (f && offset > f.offset) this.failing.delete(k);
  }

  failures(topic: string, partition: number): number {
    return this.failing.get(`${topic}/${partition}`)?.failures ?? 0;
  }

  setLag(topic: string, partition: number, lag: number): void {
    this.lag.set(`${topic}/${partition}`, { topic, partition, lag });
  }

  dropLag(topic: string, partition: number): void {
    this.lag.delete(`${topic}/${partition}`);
  }
}
