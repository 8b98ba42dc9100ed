/**
 * The extra figures of the Fleet tiles, per region, read from the processor's exact gauges: the values the engine
 * holds now for the trailing window (services/engine/rules/<alert>/index.ts `gauges`, exported by
 * services/processor/metrics.ts on the processor's /metrics, computed from the engines' snapshots at each scrape).
 * Transitions only carry a value when an alert fires or resolves, and the hourly topic holds closed clock hours, so
 * neither is the current window; the snapshot is. Two ways in, the same numbers:
 *   - snapshotSource(() => processor.snapshots()): in the process of a processor (the demo);
 *   - metricsSource(urls): scrape the processor's /metrics (`signwatch console --processor-metrics URL`); a
 *     processor of several instances: one URL each, merged (each region is owned by one instance).
 * Thresholds come from the console's policy (the processor's must be the same file).
 * Lifecycle: FiguresPoller start() → reads every intervalMs (and once at start) → stop() (idempotent).
 */
import type { Policy } from '../engine/policy.js';
import type { RegionSnapshot } from '../engine/types.js';
import { REGIONS } from '../../schemas/events.js';
import { METRICS } from '../platform/metric-names.js';
import { METRIC as KEYCHAIN } from '../engine/rules/codesign_keychain_failures/index.js';
import { METRIC_P95, METRIC_SAMPLES } from '../engine/rules/unlock_latency_p95/index.js';
import { METRIC as CERT_DAYS } from '../engine/rules/cert_expiry/index.js';
import { METRIC as HOST_SILENCE } from '../engine/rules/host_silent/index.js';
import type { WireFigures } from './wire.js';

export interface Gauge {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export type GaugeSource = () => Promise<Gauge[]>;

export const FIGURE_GAUGES: ReadonlySet<string> = new Set([KEYCHAIN, METRIC_P95, METRIC_SAMPLES, CERT_DAYS, HOST_SILENCE, METRICS.drillPendingHosts, METRICS.drillTimeToGreen]);

export function snapshotSource(snapshots: () => RegionSnapshot[]): GaugeSource {
  return () => Promise.resolve(snapshots().flatMap((s) => s.gauges.filter((g) => FIGURE_GAUGES.has(g.name)).map((g) => ({ name: g.name, labels: { ...g.labels, region: g.labels.region ?? s.region }, value: g.value }))));
}

const unescapeLabel = (v: string) => v.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));

/** The samples of the figure gauges in a Prometheus text exposition (other metrics are skipped). */
export function parseGauges(text: string): Gauge[] {
  const out: Gauge[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || !FIGURE_GAUGES.has(m[1]!)) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    const labels: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = unescapeLabel(l[2]!);
    out.push({ name: m[1]!, labels: { ...labels }, value });
  }
  return out;
}

export function metricsSource(urls: readonly string[], timeoutMs = 10_000): GaugeSource {
  return async () => {
    const all = await Promise.all(
      urls.map(async (url) => {
        const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'text/plain' } });
        if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
        return parseGauges(await res.text());
      }),
    );
    return all.flat();
  };
}

/** Per region: the figures of its tile (every region present; a figure is null when the processor has none). */
export function figuresOf(gauges: readonly Gauge[], policy: Readonly<Policy>, at: string): Record<string, WireFigures> {
  const kc = policy.alerts.codesign_keychain_failures;
  const ul = policy.alerts.unlock_latency_p95;
  const ce = policy.alerts.cert_expiry;
  const hs = policy.alerts.host_silent;
  const out: Record<string, WireFigures> = {};
  for (const region of REGIONS) {
    const mine = gauges.filter((g) => g.labels.region === region);
    const one = (name: string) => mine.find((g) => g.name === name)?.value;
    const count = one(KEYCHAIN);
    const p95 = one(METRIC_P95);
    const samples = one(METRIC_SAMPLES);
    let cert: WireFigures['certExpiry'] = null;
    for (const g of mine) {
      if (g.name === CERT_DAYS && (cert === null || g.value < cert.days)) cert = { days: g.value, subject: g.labels.subject ?? '', sha1: g.labels.sha1 ?? '', ticketDays: ce.days };
    }
    const silence = mine.filter((g) => g.name === HOST_SILENCE);
    const pending = one(METRICS.drillPendingHosts);
    const green = one(METRICS.drillTimeToGreen);
    out[region] = {
      keychainFailures: count === undefined ? null : { count, threshold: kc.threshold, windowMs: kc.window },
      unlockP95: samples === undefined && p95 === undefined ? null : { ms: p95 ?? null, samples: samples ?? 0, thresholdMs: ul.thresholdMs, minSamples: ul.minSamples },
      certExpiry: cert,
      silentHosts:
        silence.length === 0
          ? null
          : {
              hosts: silence.filter((g) => g.value * 1000 >= hs.silentAfter).map((g) => g.labels.host ?? '?').sort(),
              reporting: silence.length,
              silentAfterMs: hs.silentAfter,
            },
      drill: pending === undefined && green === undefined ? null : { pendingHosts: pending ?? 0, timeToGreenS: green ?? null },
      at,
    };
  }
  return out;
}

export interface FiguresPollerOptions {
  source: GaugeSource;
  policy: Readonly<Policy>;
  onFigures: (figures: Record<string, WireFigures> | null, error: string | null) => void;
  intervalMs?: number;
  now?: () => number;
}

export class FiguresPoller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: FiguresPollerOptions) {}

  /** Read once now (awaitable), then every intervalMs. */
  async start(): Promise<void> {
    await this.poll();
    if (this.stopped) return;
    this.timer = setInterval(() => void this.poll(), this.o.intervalMs ?? 2000);
    this.timer.unref();
  }

  poll(): Promise<void> {
    this.running ??= (async () => {
      try {
        const gauges = await this.o.source();
        if (!this.stopped) this.o.onFigures(figuresOf(gauges, this.o.policy, new Date((this.o.now ?? Date.now)()).toISOString()), null);
      } catch (e) {
        if (!this.stopped) this.o.onFigures(null, (e as Error).message);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
