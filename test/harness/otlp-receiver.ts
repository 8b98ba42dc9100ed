/**
 * A local OTLP/HTTP receiver for the trace tests: accepts `POST /v1/traces` (OTLP JSON encoding, what
 * @opentelemetry/exporter-trace-otlp-http sends: ids in hex) and decodes every span with its resource's
 * `service.name`; `/v1/metrics` and `/v1/logs` are accepted and dropped. Built on platform/http.ts like every
 * signwatch server. Lifecycle: startOtlpReceiver() → close().
 */
import { createHttpApp } from '../../services/platform/http.js';

export interface ReceivedSpan {
  service: string;
  /** Resource attributes of the process that exported it. */
  resource: Record<string, string>;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  kind: number;
  startMs: number;
  endMs: number;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
}

export interface OtlpReceiver {
  /** e.g. http://127.0.0.1:PORT: the value of OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Resolves when `cond` holds (checked on every export), rejects after `timeoutMs`. */
  waitFor(cond: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs: number, what: string): Promise<void>;
  close(): Promise<void>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: KeyValue[];
  links?: { traceId: string; spanId: string }[];
}
interface ExportTraceServiceRequest {
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

function valueOf(v: AnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(valueOf);
  return undefined;
}

const attrs = (kvs: KeyValue[] | undefined): Record<string, unknown> => Object.fromEntries((kvs ?? []).map((kv) => [kv.key, valueOf(kv.value)]));
const nanosToMs = (n: string | number): number => Number(BigInt(n) / 1_000_000n);

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const waiters = new Set<() => void>();
  const app = createHttpApp({ bodyLimit: 64 * 1024 * 1024, badRequestCode: 'SW_USAGE', internalCode: 'SW_USAGE' });
  app.post('/v1/traces', (req, reply) => {
    const body = req.body as ExportTraceServiceRequest;
    for (const rs of body.resourceSpans ?? []) {
      const resource = attrs(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          spans.push({
            service: String(resource['service.name']),
            resource: Object.fromEntries(Object.entries(resource).map(([k, v]) => [k, String(v)])),
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            kind: s.kind ?? 0,
            startMs: nanosToMs(s.startTimeUnixNano),
            endMs: nanosToMs(s.endTimeUnixNano),
            attributes: attrs(s.attributes),
            links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
          });
        }
      }
    }
    for (const w of waiters) w();
    return reply.code(200).send({});
  });
  app.post('/v1/metrics', (_req, reply) => reply.code(200).send({}));
  app.post('/v1/logs', (_req, reply) => reply.code(200).send({}));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const a = app.server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    waitFor(cond, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!cond(spans)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`OTLP receiver: timed out waiting for ${what}; have ${spans.map((s) => `${s.service}:${s.name}`).join(', ')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      await app.close();
    },
  };
}
