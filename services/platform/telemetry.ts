/**
 * Our own telemetry, in one module: the OpenTelemetry Node SDK (traces, context propagation, instrumentation of
 * node:http and pg) and each component's metrics (a MeterProvider whose readers are the Prometheus exporter and,
 * when an OTLP endpoint is configured, an OTLP/HTTP periodic reader), served by a fastify app
 * (platform/http.ts createHttpApp, 127.0.0.1 by default) on /metrics, /healthz (the process is alive) and /readyz
 * (the service says it is ready, e.g. the processor has joined its group and rebuilt its partitions).
 *
 * Configuration is the standard OpenTelemetry environment: `OTEL_EXPORTER_OTLP_ENDPOINT` (or the per-signal
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `…_METRICS_ENDPOINT`), `OTEL_EXPORTER_OTLP_HEADERS`,
 * `OTEL_TRACES_EXPORTER=none` / `OTEL_METRICS_EXPORTER=none`, `OTEL_TRACES_SAMPLER`, `OTEL_RESOURCE_ATTRIBUTES`,
 * `OTEL_SERVICE_NAME`, `OTEL_SDK_DISABLED`. Nothing is exported unless an endpoint is set: without one, spans
 * are not recorded, but trace context still flows (Kafka headers, events, PagerDuty details). The resource names
 * the service (`service.name`), the region (`cloud.region`) and the host (`host.name`).
 *
 * One SDK per process: the first component that starts it names the process's resource (the demo runs several
 * components in one process); it shuts down when the last one stops.
 *
 * Lifecycle: createTelemetry() → start() (binds; port 0 picks a free port) → stop() (idempotent, also without start).
 * `agent exec` never loads this module (its start-up budget): it writes the trace context into its event
 * (platform/traceparent.ts) and the daemon records the call's span from it (recordRemoteSpan).
 */
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { context, ROOT_CONTEXT, SpanKind, trace, TraceFlags, ValueType, type Attributes, type Context, type HrTime, type Link, type Meter, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import type { HttpTimeouts } from './http-timeouts.js';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import type { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import type { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, MeterProvider, PeriodicExportingMetricReader, type CollectionResult, type IMetricReader, type MetricData, type MetricProducer } from '@opentelemetry/sdk-metrics';
import type { NodeSDK } from '@opentelemetry/sdk-node';
import type { BatchSpanProcessor, IdGenerator, RandomIdGenerator } from '@opentelemetry/sdk-trace-base';
import { createHttpApp } from './http.js';
import { formatTraceparent, parseTraceparent } from './traceparent.js';

const requireCjs = createRequire(import.meta.url);

/**
 * The SDK, its OTLP exporters and instrumentations are loaded only when something is exported (an OTLP endpoint is
 * configured): they are ~30 MB of a process's memory (the agent daemon's idle RSS budget is 80 MB), and without an
 * exporter the API's no-op tracer does all a component needs (trace context is carried in the data, not recorded).
 */
const lazy = {
  sdkNode: () => requireCjs('@opentelemetry/sdk-node') as { NodeSDK: typeof NodeSDK },
  traceBase: () => requireCjs('@opentelemetry/sdk-trace-base') as { BatchSpanProcessor: typeof BatchSpanProcessor; RandomIdGenerator: typeof RandomIdGenerator },
  traceExporter: () => requireCjs('@opentelemetry/exporter-trace-otlp-http') as { OTLPTraceExporter: typeof OTLPTraceExporter },
  metricExporter: () => requireCjs('@opentelemetry/exporter-metrics-otlp-http') as { OTLPMetricExporter: typeof OTLPMetricExporter },
  http: () => requireCjs('@opentelemetry/instrumentation-http') as { HttpInstrumentation: typeof HttpInstrumentation },
  pg: () => requireCjs('@opentelemetry/instrumentation-pg') as { PgInstrumentation: typeof PgInstrumentation },
};

/** One reading of an exact gauge (or exact counter). */
export interface GaugeSample {
  labels: Attributes;
  value: number;
  /** Exact counters: when this series started counting (wall ms; a series that restarts at 0 is a counter reset). */
  startMs?: number;
}

/**
 * Gauges whose every scrape holds exactly what `read()` returns now. The SDK's observable gauges keep reporting a
 * label set after it was last observed (a resolved alert would stay 1, a replaced certificate's days would stay on
 * /metrics); these do not, so a series that is gone is gone from the next scrape (Prometheus marks it stale).
 */
class ExactGauges implements MetricProducer {
  private readonly gauges = new Map<string, { description: string; read: () => Iterable<GaugeSample>; counter: boolean }>();
  private readonly startTime: HrTime = hr(Date.now());

  add(name: string, description: string, read: () => Iterable<GaugeSample>, counter = false): void {
    if (this.gauges.has(name)) throw new Error(`exact gauge ${name} registered twice`);
    this.gauges.set(name, { description, read, counter });
  }

  collect(): Promise<CollectionResult> {
    const endTime = hr(Date.now());
    const metrics: MetricData[] = [];
    for (const [name, g] of this.gauges) {
      const dataPoints = [...g.read()].map((x) => ({ startTime: x.startMs === undefined ? this.startTime : hr(x.startMs), endTime, attributes: x.labels, value: x.value }));
      const descriptor = { name, description: g.description, unit: '', valueType: ValueType.DOUBLE };
      if (g.counter) metrics.push({ descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints });
      else metrics.push({ descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints });
    }
    return Promise.resolve({ resourceMetrics: { resource: resourceFromAttributes({}), scopeMetrics: [{ scope: { name: 'signwatch' }, metrics }] }, errors: [] });
  }
}

const hr = (ms: number): HrTime => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];

// ── the process's SDK ────────────────────────────────────────────────────────────────────────────────

const env = (name: string): string | undefined => {
  const v = process.env[name]?.trim();
  return v ? v : undefined;
};
const listed = (name: string, value: string): boolean => (env(name) ?? '').split(',').map((s) => s.trim()).includes(value);

/** An OTLP endpoint is configured for this signal (and the signal's exporter is not `none`). */
export function otlpEnabled(signal: 'traces' | 'metrics'): boolean {
  if (listed('OTEL_SDK_DISABLED', 'true')) return false;
  if (listed(signal === 'traces' ? 'OTEL_TRACES_EXPORTER' : 'OTEL_METRICS_EXPORTER', 'none')) return false;
  return env(signal === 'traces' ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT') !== undefined || env('OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined;
}

/**
 * Span ids from the SDK's random generator, except for the one span `recordRemoteSpan` re-creates with the ids
 * another process chose (the `agent exec` call, which ran without an SDK).
 */
class AssignableIds implements IdGenerator {
  private readonly random = new (lazy.traceBase().RandomIdGenerator)();
  next: { traceId?: string; spanId: string } | undefined;
  generateTraceId(): string {
    const t = this.next?.traceId;
    if (t && this.next) this.next.traceId = undefined;
    return t ?? this.random.generateTraceId();
  }
  generateSpanId(): string {
    const s = this.next?.spanId;
    this.next = undefined;
    return s ?? this.random.generateSpanId();
  }
}

export interface ResourceInfo {
  serviceName: string;
  /** The component's region (agents; a regional processor). */
  region?: string;
  /** Default: os.hostname(). */
  host?: string;
}

let sdk: { sdk: NodeSDK; users: number; ids: AssignableIds; recording: boolean } | undefined;

function resourceAttributes(r: ResourceInfo): Attributes {
  return { 'service.name': r.serviceName, 'service.namespace': 'signwatch', 'host.name': r.host ?? hostname(), ...(r.region ? { 'cloud.region': r.region } : {}) };
}

/**
 * Start the process's OpenTelemetry SDK (once; later callers share it). Returns its release: the SDK flushes and
 * shuts down when every user released it.
 */
export function startTracing(r: ResourceInfo): () => Promise<void> {
  // nothing to export: no SDK (the API's no-op tracer; spans are not recorded, trace context still carried)
  if (!sdk && !otlpEnabled('traces')) return () => Promise.resolve();
  if (!sdk) {
    const ids = new AssignableIds();
    const { NodeSDK } = lazy.sdkNode();
    const { BatchSpanProcessor } = lazy.traceBase();
    const { OTLPTraceExporter } = lazy.traceExporter();
    const { HttpInstrumentation } = lazy.http();
    const { PgInstrumentation } = lazy.pg();
    const s = new NodeSDK({
      // OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME (envDetector) override ours
      resource: resourceFromAttributes(resourceAttributes(r)),
      resourceDetectors: [envDetector],
      // the OTLP/HTTP exporter reads its endpoint, headers and timeout from OTEL_EXPORTER_OTLP_*
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
      // metrics are per component (createTelemetry), logs stay pino's
      metricReaders: [],
      logRecordProcessors: [],
      idGenerator: ids,
      // the processor's batch span links every trace of its batch (OTEL_SPAN_LINK_COUNT_LIMIT overrides)
      spanLimits: { linkCountLimit: Number(env('OTEL_SPAN_LINK_COUNT_LIMIT') ?? 100_000) },
      instrumentations: [
        new HttpInstrumentation({
          // scrapes and probes are not traced
          ignoreIncomingRequestHook: (req) => /^\/(?:metrics|healthz|readyz)(?:\?|$)/.test(req.url ?? ''),
          // the exporter's own POSTs are not traced
          ignoreOutgoingRequestHook: (req) => typeof req.path === 'string' && /^\/v1\/(?:traces|metrics|logs)$/.test(req.path),
        }),
        new PgInstrumentation({ requireParentSpan: true }),
      ],
    });
    s.start();
    // the instrumentations patch a module when it is required after start(); signwatch's ESM imports and fastify
    // loaded node:http and pg before: require them once more so that their shared exports get patched
    for (const m of ['node:http', 'node:https', 'pg']) {
      try {
        requireCjs(m);
      } catch {
        /* not installed: nothing to patch */
      }
    }
    sdk = { sdk: s, users: 0, ids, recording: true };
  }
  const mine = sdk;
  mine.users++;
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    if (--mine.users > 0) return;
    if (sdk === mine) sdk = undefined;
    await mine.sdk.shutdown().catch(() => {});
  };
}

/** Spans are recorded and exported (an OTLP traces endpoint is configured and the SDK runs). */
export function tracingRecording(): boolean {
  return sdk?.recording ?? false;
}

export function tracer(): Tracer {
  return trace.getTracer('signwatch');
}

/** The context whose parent is the span `traceparent` names (ROOT_CONTEXT when it is absent or invalid). */
export function contextOf(traceparent: string | undefined | Buffer | (string | Buffer)[]): Context {
  const text = Array.isArray(traceparent) ? traceparent[0] : traceparent;
  const t = parseTraceparent(Buffer.isBuffer(text) ? text.toString('latin1') : text);
  if (!t) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: t.traceId, spanId: t.spanId, traceFlags: t.flags, isRemote: true });
}

/** The link to the span `traceparent` names, or undefined. */
export function linkOf(traceparent: string | undefined | Buffer | (string | Buffer)[], attributes?: Attributes): Link | undefined {
  // one per trace of a processor batch: the span context directly, no Context object
  const text = Array.isArray(traceparent) ? traceparent[0] : traceparent;
  const t = parseTraceparent(Buffer.isBuffer(text) ? text.toString('latin1') : text);
  if (!t) return undefined;
  return { context: { traceId: t.traceId, spanId: t.spanId, traceFlags: t.flags, isRemote: true }, ...(attributes ? { attributes } : {}) };
}

/**
 * The links of a processor batch span: one per distinct trace among the records' `traceparent` headers, to the span
 * the trace's first record names (the daemon's ship span), with `signwatch.events` = how many of the batch's records
 * are in that trace when more than one (a CI job's trace holds many calls). Every contributing event's trace is
 * linked, and each link is built, held and exported once per trace rather than once per event.
 */
export function batchLinks(headers: Iterable<Buffer | string | (Buffer | string)[] | undefined>): Link[] {
  const byTrace = new Map<string, { text: string; n: number }>();
  for (const h of headers) {
    const v = Array.isArray(h) ? h[0] : h;
    if (v === undefined || v.length !== 55) continue; // 00-<32>-<16>-<2>: anything else is not a traceparent
    const text = typeof v === 'string' ? v : v.toString('latin1');
    const id = text.slice(3, 35);
    const seen = byTrace.get(id);
    if (seen) seen.n++;
    else byTrace.set(id, { text, n: 1 });
  }
  const links: Link[] = [];
  for (const { text, n } of byTrace.values()) {
    const l = linkOf(text, n > 1 ? { 'signwatch.events': n } : undefined);
    if (l) links.push(l);
  }
  return links;
}

/** `00-<trace>-<span>-<flags>` of a span (also of a non-recording one that carries a remote parent's context). */
export function traceparentOf(span: Span | SpanContext): string | undefined {
  const sc = 'spanContext' in span ? span.spanContext() : span;
  if (!trace.isSpanContextValid(sc)) return undefined;
  return formatTraceparent({ traceId: sc.traceId, spanId: sc.spanId, flags: sc.traceFlags });
}

/**
 * Record, after the fact, a span another process ran without an SDK, with the ids it chose: the `agent exec` call
 * (its event carries `traceparent` = its own span, `parentSpanId` = the CI job's span when it had one). Returns
 * the span's context (for children), or undefined when `traceparent` is invalid.
 */
export function recordRemoteSpan(name: string, traceparent: string | undefined, parentSpanId: string | undefined, startMs: number, endMs: number, attributes: Attributes): Context | undefined {
  const t = parseTraceparent(traceparent);
  if (!t) return undefined;
  const own = trace.setSpanContext(ROOT_CONTEXT, { traceId: t.traceId, spanId: t.spanId, traceFlags: t.flags, isRemote: true });
  if (!sdk?.recording) return own;
  const parent = parentSpanId && /^[0-9a-f]{16}$/.test(parentSpanId) && !/^0+$/.test(parentSpanId) ? trace.setSpanContext(ROOT_CONTEXT, { traceId: t.traceId, spanId: parentSpanId, traceFlags: t.flags || TraceFlags.SAMPLED, isRemote: true }) : ROOT_CONTEXT;
  sdk.ids.next = { traceId: t.traceId, spanId: t.spanId };
  const span = tracer().startSpan(name, { kind: SpanKind.INTERNAL, startTime: startMs, attributes }, parent);
  sdk.ids.next = undefined;
  span.end(endMs);
  return trace.setSpan(ROOT_CONTEXT, span);
}

export { context, SpanKind, trace, type Context, type Link, type Span };

// ── a component's metrics and probes ─────────────────────────────────────────────────────────────────

export interface TelemetryOptions {
  serviceName: string;
  /** The component's region, when it has one (resource attribute cloud.region). */
  region?: string;
  /** Bind address of /metrics, /healthz, /readyz. */
  host: string;
  /** Address and port of /metrics, /healthz, /readyz (port 0: a free port). */
  port: number;
  /** false: metrics are collected but no HTTP server is started. */
  serve: boolean;
  /** Start the process's OpenTelemetry SDK with this component (default true). */
  tracing?: boolean;
  /** The server's timeouts (default: the platform's, services/platform/http-timeouts.ts). */
  timeouts?: HttpTimeouts;
}

export interface Telemetry {
  readonly meter: Meter;
  /** Register a gauge exported exactly as `read()` returns it at each scrape (no stale label sets). */
  exactGauge(name: string, description: string, read: () => Iterable<GaugeSample>): void;
  /**
   * A monotonic counter whose series are exactly what `read()` returns (exported as `<name>_total`): unlike the SDK's
   * counters, a series can be dropped (a host that stopped reporting), so per-host cardinality stays bounded.
   */
  exactCounter(name: string, description: string, read: () => Iterable<GaugeSample>): void;
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
  const readers: IMetricReader[] = [exporter];
  if (otlpEnabled('metrics')) readers.push(new PeriodicExportingMetricReader({ exporter: new (lazy.metricExporter().OTLPMetricExporter)(), metricProducers: [exact] }));
  const provider = new MeterProvider({
    resource: resourceFromAttributes(resourceAttributes({ serviceName: opts.serviceName, ...(opts.region ? { region: opts.region } : {}) })),
    readers,
  });
  const meter = provider.getMeter('signwatch');
  let ready = false;
  let notReadyReason = 'starting';
  let stopped = false;
  let listening = false;
  let releaseTracing: (() => Promise<void>) | undefined;

  const app = createHttpApp({ ...opts.timeouts, badRequestCode: 'SW_TELEMETRY_BAD_REQUEST', internalCode: 'SW_TELEMETRY_INTERNAL' });
  app.route({
    method: ['GET', 'HEAD'],
    url: '/metrics',
    handler: (req, reply) => {
      // the exporter writes the exposition (and its content type) on the raw response
      reply.hijack();
      exporter.getMetricsRequestHandler(req.raw, reply.raw);
    },
  });
  app.route({ method: ['GET', 'HEAD'], url: '/healthz', handler: (_req, reply) => reply.type('text/plain').send('ok\n') });
  app.route({
    method: ['GET', 'HEAD'],
    url: '/readyz',
    handler: (_req, reply) => (ready ? reply.type('text/plain').send('ready\n') : reply.code(503).type('text/plain').send(`not ready: ${notReadyReason}\n`)),
  });
  app.setNotFoundHandler((req, reply) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply.code(405).header('allow', 'GET, HEAD').send();
    return reply.code(404).type('text/plain').send('not found: try /metrics, /healthz, /readyz\n');
  });

  return {
    meter,
    exactGauge: (name, description, read) => exact.add(name, description, read),
    exactCounter: (name, description, read) => exact.add(name, description, read, true),
    setReady(r, reason) {
      ready = r;
      notReadyReason = reason ?? (r ? '' : 'not ready');
    },
    async scrape() {
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      return res.body;
    },
    async start() {
      if (opts.tracing !== false && !releaseTracing && !stopped) releaseTracing = startTracing({ serviceName: opts.serviceName, ...(opts.region ? { region: opts.region } : {}) });
      if (!opts.serve) return 0;
      if (!listening) {
        await app.listen({ port: opts.port, host: opts.host });
        listening = true;
      }
      const a = app.server.address();
      return typeof a === 'object' && a ? a.port : 0;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      ready = false;
      if (listening) app.server.closeAllConnections();
      await app.close().catch(() => {});
      await provider.shutdown().catch(() => {});
      await releaseTracing?.();
    },
  };
}
