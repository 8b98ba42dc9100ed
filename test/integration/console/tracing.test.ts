// `signwatch console` starts the OpenTelemetry SDK like the other long-running components (issue 20): the real
// command as a child process (against the real broker, a unique alert topic), exporting to a local OTLP/HTTP
// receiver (OTEL_EXPORTER_OTLP_ENDPOINT); a request that carries a W3C traceparent must come back as the console's
// HTTP server span, a child of that context, under the console's resource. Conditions are waited for with generous
// timeouts; nothing here measures time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { hostname } from 'node:os';
import { testKafka } from '../../harness/kafka.js';
import { startOtlpReceiver } from '../../harness/otlp-receiver.js';

const MAIN = fileURLToPath(new URL('../../../services/cli/main.js', import.meta.url));
const BROKERS = process.env.SIGNWATCH_KAFKA_BROKERS ?? '127.0.0.1:9092';
const skip = process.env.SIGNWATCH_INTEGRATION !== '1' ? 'needs the real broker: SIGNWATCH_INTEGRATION=1 after `npm run kafka:start`' : false;
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
  await done;
  clearTimeout(t);
}

void test('signwatch console exports its HTTP server spans (OTEL_EXPORTER_OTLP_ENDPOINT), children of the caller’s traceparent', { skip, timeout: 180_000 }, async () => {
  const kafka = testKafka(BROKERS, 'sw-test-console-trace');
  const topic = `sw-test-console-trace-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  const otlp = await startOtlpReceiver();
  let child: ChildProcess | undefined;
  try {
    child = spawn(process.execPath, [MAIN, 'console', '--listen', '127.0.0.1:0', '--brokers', BROKERS, '--topic', topic, '--log-level', 'warn'], {
      env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_METRIC_EXPORT_INTERVAL: '600000' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`console did not print its URL within 60 s: ${stderr}`)), 60_000);
      child!.stderr!.on('data', (c: Buffer) => {
        stderr = (stderr + c.toString()).slice(-5000);
        const m = /signwatch console: (http:\/\/127\.0\.0\.1:\d+)\//.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child!.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`console exited ${code}: ${stderr}`));
      });
    });

    // the caller's span (a browser with Faro, a proxy, a script): the console's server span is its child
    const traceId = hex(16);
    const parentSpanId = hex(8);
    const res = await fetch(`${url}/api/fleet`, { headers: { traceparent: `00-${traceId}-${parentSpanId}-01` } });
    assert.equal(res.status, 200, await res.text());
    await res.arrayBuffer().catch(() => undefined);

    await otlp.waitFor((s) => s.some((x) => x.traceId === traceId), 60_000, 'the console’s span of GET /api/fleet');
    const span = otlp.spans.find((x) => x.traceId === traceId)!;
    assert.equal(span.service, 'signwatch-console');
    assert.equal(span.kind, 2, 'a SERVER span (node:http instrumentation of the console’s fastify app)');
    assert.equal(span.parentSpanId, parentSpanId, 'a child of the request’s traceparent');
    assert.ok(Object.values(span.attributes).some((v) => typeof v === 'string' && v.includes('/api/fleet')), `the span names the path: ${JSON.stringify(span.attributes)}`);
    assert.equal(span.resource['service.namespace'], 'signwatch');
    assert.equal(span.resource['host.name'], hostname());

    // probes and scrapes are not traced (as in every component)
    const metrics = await fetch(`${url}/metrics`, { headers: { traceparent: `00-${hex(16)}-${hex(8)}-01` } });
    await metrics.arrayBuffer();
    const health = await fetch(`${url}/healthz`, { headers: { traceparent: `00-${traceId}-${hex(8)}-01` } });
    assert.equal(health.status, 200);
    await health.arrayBuffer();
    // a later traced request flushes behind them: once it is in, the probes would be too
    const later = hex(16);
    await (await fetch(`${url}/api/me`, { headers: { traceparent: `00-${later}-${hex(8)}-01` } })).arrayBuffer();
    await otlp.waitFor((s) => s.some((x) => x.traceId === later), 60_000, 'the console’s span of GET /api/me');
    assert.equal(otlp.spans.filter((x) => x.traceId === traceId).length, 1, 'GET /healthz made no span');
    assert.ok(!otlp.spans.some((x) => x.service === 'signwatch-console' && Object.values(x.attributes).some((v) => typeof v === 'string' && v.includes('/metrics'))), 'GET /metrics made no span');
  } finally {
    if (child) await stop(child);
    await otlp.close();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});
