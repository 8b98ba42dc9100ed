/**
 * A stand-in for the processor's /metrics, used to prove the dashboards against real Prometheus series until (and
 * besides) the real processor: simulated fleet events (services/simulate, the lead's seeded generator) go through
 * the real alert engine (services/engine) and come out as the metrics of services/platform/metric-names.ts with the
 * labels the processor documents. It keeps cumulative state; two writers read it:
 *   - otel-exporter.ts: OpenTelemetry instruments behind the real @opentelemetry/exporter-prometheus (live scrape);
 *   - openmetrics.ts:   timestamped OpenMetrics text for `promtool tsdb create-blocks-from openmetrics` (pictures).
 *
 * Lifecycle: construct → ingest(line)* / advanceTo(ms)* → read gauges()/counters()/histograms(). No I/O.
 * Values the engine does not produce (spool depth, notifier retries) are derived deterministically from the
 * events, and documented where they are computed.
 */
import { parseEvent, REGIONS, type Region, type SignEvent } from '../../schemas/events.js';
import { alertConfig, ALERT_NAMES, type Policy } from '../../services/engine/policy.js';
import { METRICS } from '../../services/platform/metric-names.js';
import { ALERT_METRICS } from '../../services/engine/rules/index.js';
import { createEngine, enabledRules, freezingAlerts } from '../../services/engine/engine.js';
import type { AlertEngine, HourlyAggregate, Transition } from '../../services/engine/types.js';

export type Labels = Record<string, string>;
export interface Sample {
  name: string;
  labels: Labels;
  value: number;
}
export interface HistogramSample {
  name: string;
  labels: Labels;
  /** Cumulative counts per upper bound (last bound is +Inf). */
  buckets: [number, number][];
  sum: number;
  count: number;
}

/** Unlock duration histogram bounds (ms): 800, the default page threshold, is an exact edge. */
export const UNLOCK_BOUNDS_MS = [50, 100, 200, 400, 800, 1600, 3200, 6400] as const;

const key = (name: string, labels: Labels): string => `${name}\u0000${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`;

class Cumulative {
  readonly series = new Map<string, Sample>();
  add(name: string, labels: Labels, by = 1): void {
    const k = key(name, labels);
    const s = this.series.get(k);
    if (s) s.value += by;
    else this.series.set(k, { name, labels, value: by });
  }
}

interface HostState {
  region: Region;
  lastHeartbeat?: number;
  lastClockOffset?: number;
  /** The last agent doctor verdict: 1 ready, 0 not ready. */
  ready?: number;
  recent: number[];
}

export class FleetMetrics {
  private readonly engine: AlertEngine;
  private readonly counters = new Cumulative();
  private readonly hist = new Map<string, HistogramSample>();
  private readonly hosts = new Map<string, HostState>();
  /** Unlock observations since the last drainObservations() (the live exporter records them one by one). */
  private observations: { labels: Labels; value: number }[] = [];
  private now = 0;
  private pages = 0;

  private readonly freezing: ReadonlySet<string>;

  constructor(private readonly policy: Readonly<Policy>) {
    this.freezing = freezingAlerts(policy);
    const transitions = this.counters;
    const sink = {
      transition: (t: Transition) => this.onTransition(t, transitions),
      hourly: (_a: HourlyAggregate) => undefined,
    };
    this.engine = createEngine(policy, sink);
    // series the processor creates at start-up (zero), so "nothing happened" reads 0, not "no data"
    for (const r of REGIONS) {
      for (const m of [METRICS.eventsDuplicate, METRICS.eventsLate, METRICS.eventsExpired, METRICS.eventsFuture, METRICS.hostSeriesFolded]) this.counters.add(m, { region: r }, 0);
    }
    this.counters.add(METRICS.hostSeriesEvicted, {}, 0);
    for (const a of ALERT_NAMES) for (const s of ['firing', 'resolved']) this.counters.add(METRICS.transitions, { alert: a, state: s }, 0);
    for (const c of ['pagerduty', 'ticket', 'gate']) {
      for (const o of ['ok', 'failed']) this.counters.add(METRICS.notifications, { channel: c, outcome: o }, 0);
      this.counters.add(METRICS.notificationRetries, { channel: c }, 0);
    }
    this.counters.add(METRICS.eventsInvalid, { reason: 'schema' }, 0);
    this.counters.add(METRICS.deadLettered, { reason: 'invalid' }, 0);
  }

  private onTransition(t: Transition, c: Cumulative): void {
    c.add(METRICS.transitions, { alert: t.alert, state: t.state });
    const channel = t.severity === 'ticket' ? 'ticket' : 'pagerduty';
    c.add(METRICS.notifications, { channel, outcome: 'ok' });
    // a PagerDuty 429 on every third page: one retry each (what the notifier's retry counter would show)
    if (channel === 'pagerduty' && ++this.pages % 3 === 0) c.add(METRICS.notificationRetries, { channel });
    if (this.freezing.has(t.alert)) c.add(METRICS.notifications, { channel: 'gate', outcome: 'ok' });
  }

  /** One wire line, as the processor's consumer would receive it. */
  ingest(line: string): void {
    const r = parseEvent(line);
    if (!r.ok) {
      const reason = /^(oversized|invalid JSON)/i.test(r.reason) ? r.reason.split(':')[0]!.toLowerCase().replace(/\s+/g, '_') : 'schema';
      this.counters.add(METRICS.eventsInvalid, { reason });
      this.counters.add(METRICS.deadLettered, { reason: 'invalid' });
      return;
    }
    const e = r.event;
    const outcome = this.engine.offer(e);
    if (outcome === 'duplicate') return this.counters.add(METRICS.eventsDuplicate, { region: e.region });
    if (outcome === 'late') this.counters.add(METRICS.eventsLate, { region: e.region });
    if (outcome === 'expired') this.counters.add(METRICS.eventsExpired, { region: e.region });
    if (outcome === 'future') this.counters.add(METRICS.eventsFuture, { region: e.region });
    this.count(e);
  }

  private count(e: SignEvent): void {
    const ts = Date.parse(e.ts);
    const h = this.hosts.get(e.host) ?? { region: e.region, recent: [] };
    this.hosts.set(e.host, h);
    h.recent.push(ts);
    this.counters.add(METRICS.eventsIn, { region: e.region, type: e.type });
    const outcome = 'outcome' in e && typeof e.outcome === 'string' ? e.outcome : 'none';
    this.counters.add(METRICS.hostEvents, { region: e.region, host: e.host, type: e.type, outcome });
    switch (e.type) {
      case 'codesign':
        if (e.outcome === 'fail' && e.error) this.counters.add(METRICS.hostErrors, { region: e.region, host: e.host, code: e.error.code });
        break;
      case 'notarize': {
        const cls = e.error?.class ?? 'none';
        this.counters.add(METRICS.notarizeOutcomes, { region: e.region, outcome: e.outcome, class: cls });
        break;
      }
      case 'unlock': {
        const labels = { region: e.region, host: e.host };
        this.observe(labels, e.durationMs);
        break;
      }
      case 'clock':
        h.lastClockOffset = e.offsetMs;
        break;
      case 'doctor':
        h.ready = e.ready ? 1 : 0;
        break;
      case 'heartbeat':
        h.lastHeartbeat = ts;
        break;
      default:
        break;
    }
  }

  private observe(labels: Labels, v: number): void {
    const k = key(METRICS.unlockDuration, labels);
    let s = this.hist.get(k);
    if (!s) {
      s = { name: METRICS.unlockDuration, labels, buckets: [...UNLOCK_BOUNDS_MS, Infinity].map((b) => [b, 0] as [number, number]), sum: 0, count: 0 };
      this.hist.set(k, s);
    }
    for (const b of s.buckets) if (v <= b[0]) b[1]++;
    s.sum += v;
    s.count++;
    this.observations.push({ labels, value: v });
  }

  /** Advance the engine clock (wall clock live, event time in a replay). */
  advanceTo(ms: number): void {
    this.now = Math.max(this.now, ms);
    this.engine.advanceTo(this.now);
  }

  drainObservations(): { labels: Labels; value: number }[] {
    const o = this.observations;
    this.observations = [];
    return o;
  }

  counterSamples(): Sample[] {
    return [...this.counters.series.values()].map((s) => ({ ...s, labels: { ...s.labels } }));
  }

  histogramSamples(): HistogramSample[] {
    return [...this.hist.values()].map((h) => ({ ...h, buckets: h.buckets.map(([b, c]) => [b, c] as [number, number]) }));
  }

  /** Gauges at the current clock. */
  gaugeSamples(): Sample[] {
    const out: Sample[] = [];
    const g = (name: string, labels: Labels, value: number): void => void out.push({ name, labels, value });
    const snaps = this.engine.snapshot();
    const active = new Set([...this.hosts.values()].map((h) => h.region));
    for (const s of snaps) {
      if (!active.has(s.region)) continue;
      const r = { region: s.region };
      for (const reading of s.gauges) if (reading.name !== ALERT_METRICS.clockOffset) g(reading.name, reading.labels, reading.value);
      const firing = new Set(s.firing.map((f) => f.alert));
      for (const d of enabledRules(this.policy)) {
        const cfg = alertConfig(this.policy, d.name);
        g(METRICS.alertFiring, { alert: d.name, region: s.region, severity: cfg.severity }, firing.has(d.name) ? 1 : 0);
      }
      const frozen = [...firing].some((a) => this.freezing.has(a));
      g(METRICS.releaseFrozen, r, frozen ? 1 : 0);
    }
    for (const [host, h] of this.hosts) {
      const l = { region: h.region, host };
      if (h.lastClockOffset !== undefined) g(ALERT_METRICS.clockOffset, l, h.lastClockOffset);
      if (h.ready !== undefined) g(METRICS.hostReady, l, h.ready);
      if (h.lastHeartbeat !== undefined) g(METRICS.heartbeatAge, l, Math.max(0, Math.round((this.now - h.lastHeartbeat) / 1000)));
      // spool depth: the host's events of the last 30 s, i.e. what an agent would still hold before the broker acks
      h.recent = h.recent.filter((t) => t > this.now - 30_000);
      g(METRICS.spoolDepth, l, h.recent.length);
    }
    g(METRICS.hostSeriesHosts, {}, this.hosts.size);
    // ready / not-ready hosts per region (agent doctor), as the processor exports them
    for (const region of REGIONS) {
      const verdicts = [...this.hosts.values()].filter((h) => h.region === region && h.ready !== undefined).map((h) => h.ready);
      if (verdicts.length === 0) continue;
      g(METRICS.hostsReady, { region }, verdicts.filter((v) => v === 1).length);
      g(METRICS.hostsNotReady, { region }, verdicts.filter((v) => v === 0).length);
    }
    // consumer lag: one partition per region on events.v1 (key = region); lag grows with the region's recent traffic
    REGIONS.forEach((region, partition) => {
      if (!active.has(region)) return;
      const lag = [...this.hosts.values()].filter((h) => h.region === region).reduce((n, h) => n + h.recent.length, 0);
      g(METRICS.consumerLag, { topic: 'events.v1', partition: String(partition) }, lag);
    });
    return out;
  }

  /** Every host seen, with its region. */
  hostList(): { host: string; region: Region }[] {
    return [...this.hosts].map(([host, h]) => ({ host, region: h.region })).sort((a, b) => a.host.localeCompare(b.host));
  }
}
