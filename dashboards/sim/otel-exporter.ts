/**
 * Serves FleetMetrics on /metrics through the real OpenTelemetry Prometheus exporter (the processor's exporter),
 * so the dashboards' PromQL is tested against exactly the exposition format and naming the processor produces
 * (`_total` appended to counters, histogram `_bucket{le}` series, no unit suffix).
 *
 * Lifecycle: `start()` binds 127.0.0.1 (port 0 = any free port) and resolves with the port; `sync()` copies the
 * model's current values into the OTel instruments (counters get the delta since the last sync); `stop()` is
 * idempotent and works without start().
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Counter, Gauge, Histogram } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { METRICS } from '../../services/platform/metric-names.js';
import { UNLOCK_BOUNDS_MS, type FleetMetrics } from './fleet-metrics.js';

export class SimExporter {
  private readonly exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, withoutTargetInfo: true });
  private readonly provider = new MeterProvider({ readers: [this.exporter] });
  private readonly meter = this.provider.getMeter('signwatch-dashboards-sim');
  private readonly gauges = new Map<string, Gauge>();
  private readonly counters = new Map<string, Counter>();
  private readonly exported = new Map<string, number>();
  private readonly histogram: Histogram;
  private server: Server | undefined;
  private stopped = false;

  constructor(private readonly model: FleetMetrics) {
    this.histogram = this.meter.createHistogram(METRICS.unlockDuration, { unit: 'ms', advice: { explicitBucketBoundaries: [...UNLOCK_BOUNDS_MS] } });
  }

  start(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer((req, res) => {
        if (req.url === '/metrics') this.exporter.getMetricsRequestHandler(req, res);
        else res.writeHead(404).end();
      });
      this.server = server;
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  }

  sync(): void {
    for (const s of this.model.gaugeSamples()) {
      let g = this.gauges.get(s.name);
      if (!g) {
        g = this.meter.createGauge(s.name);
        this.gauges.set(s.name, g);
      }
      g.record(s.value, s.labels);
    }
    for (const s of this.model.counterSamples()) {
      let c = this.counters.get(s.name);
      if (!c) {
        c = this.meter.createCounter(s.name);
        this.counters.set(s.name, c);
      }
      const k = `${s.name}${JSON.stringify(s.labels)}`;
      const before = this.exported.get(k);
      if (before === undefined || s.value > before) {
        c.add(s.value - (before ?? 0), s.labels);
        this.exported.set(k, s.value);
      }
    }
    for (const o of this.model.drainObservations()) this.histogram.record(o.value, o.labels);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.provider.shutdown();
  }
}
