/**
 * Our own telemetry: an OpenTelemetry MeterProvider whose only reader is the Prometheus exporter, served by a
 * small HTTP server (127.0.0.1 by default) that also answers /healthz (the process is alive) and /readyz
 * (the service says it is ready, e.g. the processor has joined its group and rebuilt its partitions).
 *
 * Lifecycle: createTelemetry() → start() (binds; port 0 picks a free port) → stop() (idempotent, also without start).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { applyTimeouts, serverTimeouts, type HttpTimeouts } from './http-timeouts.js';
import { ValueType, type Attributes, type HrTime, type Meter } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, MeterProvider, type CollectionResult, type MetricData, type MetricProducer } from '@opentelemetry/sdk-metrics';

/** One reading of an exact gauge. */
export interface GaugeSample {
  labels: Attributes;
  value: number;
}

/**
 * Gauges whose every scrape holds exactly what `read()` returns now. The SDK's observable gauges keep reporting a
 * label set after it was last observed (a resolved alert would stay 1, a replaced certificate's days would stay on
 * /metrics); these do not, so a series that is gone is gone from the next scrape (Prometheus marks it stale).
 */
class ExactGauges implements MetricProducer {
  private readonly gauges = new Map<string, { description: string; read: () => Iterable<GaugeSample> }>();
  private readonly startTime: HrTime = hr(Date.now());

  add(name: string, description: string, read: () => Iterable<GaugeSample>): void {
    if (this.gauges.has(name)) throw new Error(`exact gauge ${name} registered twice`);
    this.gauges.set(name, { description, read });
  }

  collect(): Promise<CollectionResult> {
    const endTime = hr(Date.now());
    const metrics: MetricData[] = [];
    for (const [name, g] of this.gauges) {
      const dataPoints = [...g.read()].map((x) => ({ startTime: this.startTime, endTime, attributes: x.labels, value: x.value }));
      metrics.push({ descriptor: { name, description: g.description, unit: '', valueType: ValueType.DOUBLE }, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints });
    }
    return Promise.resolve({ resourceMetrics: { resource: resourceFromAttributes({}), scopeMetrics: [{ scope: { name: 'signwatch' }, metrics }] }, errors: [] });
  }
}

const hr = (ms: number): HrTime => [Math.floor(ms / 1000), (ms % 1000) * 1e6];

export interface TelemetryOptions {
  serviceName: string;
  host: string;
  port: number;
  /** false: metrics are collected but no HTTP server is started. */
  serve: boolean;
  /** The server's timeouts (default: the platform's, services/platform/http-timeouts.ts). */
  timeouts?: HttpTimeouts;
}

export interface Telemetry {
  readonly meter: Meter;
  /** Register a gauge exported exactly as `read()` returns it at each scrape (no stale label sets). */
  exactGauge(name: string, description: string, read: () => Iterable<GaugeSample>): void;
  /** Resolves with the bound port (0 when not serving). */
  start(): Promise<number>;
  stop(): Promise<void>;
  setReady(ready: boolean, reason?: string): void;
  /** The Prometheus text exposition, as /metrics would answer (tests, `--metrics-once`). */
  scrape(): Promise<string>;
}

export function createTelemetry(opts: TelemetryOptions): Telemetry {
  const exact = new ExactGauges();
  const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, withoutTargetInfo: true, metricProducers: [exact] });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName }),
    readers: [exporter],
  });
  const meter = provider.getMeter('signwatch');
  let server: Server | undefined;
  let ready = false;
  let notReadyReason = 'starting';
  let stopped = false;

  const scrape = () =>
    new Promise<string>((resolve, reject) => {
      // the exporter only exposes a request handler: drive it with a minimal response object
      let body = '';
      const res = {
        statusCode: 200,
        setHeader() {},
        end(chunk?: string) {
          if (chunk) body += chunk;
          resolve(body);
        },
      };
      try {
        exporter.getMetricsRequestHandler({} as never, res as never);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });

  return {
    meter,
    exactGauge: (name, description, read) => exact.add(name, description, read),
    setReady(r, reason) {
      ready = r;
      notReadyReason = reason ?? (r ? '' : 'not ready');
    },
    scrape,
    async start() {
      if (!opts.serve) return 0;
      if (server) return (server.address() as AddressInfo).port;
      server = createServer(serverTimeouts(opts.timeouts), (req, res) => {
        const path = (req.url ?? '/').split('?')[0];
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.writeHead(405, { allow: 'GET, HEAD' }).end();
        } else if (path === '/metrics') {
          exporter.getMetricsRequestHandler(req, res);
        } else if (path === '/healthz') {
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        } else if (path === '/readyz') {
          if (ready) res.writeHead(200, { 'content-type': 'text/plain' }).end('ready\n');
          else res.writeHead(503, { 'content-type': 'text/plain' }).end(`not ready: ${notReadyReason}\n`);
        } else {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz, /readyz\n');
        }
      });
      const s = applyTimeouts(server, opts.timeouts);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(opts.port, opts.host, () => {
          s.off('error', reject);
          resolve();
        });
      });
      return (s.address() as AddressInfo).port;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      ready = false;
      const s = server;
      server = undefined;
      if (s) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
      await provider.shutdown().catch(() => {});
    },
  };
}
