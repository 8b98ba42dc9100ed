// The processor's part of the trace (issue 20): a transition carries the trace ids of the events behind it and
// names the record that caused it (its `traceparent` header), the parent of the processor's transition span.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { defaultPolicy } from '../../../services/engine/policy.js';
import { createLogger } from '../../../services/platform/logger.js';
import { createTelemetry } from '../../../services/platform/telemetry.js';
import { ProcessorMetrics } from '../../../services/processor/metrics.js';
import { createPipeline, type OutRecord, type PartitionPipeline, type SourceRecord } from '../../../services/processor/topology.js';
import { ulid } from 'ulid';

const silent = createLogger({ name: 't', level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const hex = (n: number) => randomBytes(n).toString('hex');

function failure(ms: number, traceparent?: string): string {
  return JSON.stringify({
    v: 1, id: ulid(ms), ts: new Date(ms).toISOString(), type: 'codesign', host: 'mini-hk-01', region: 'HK', pool: 'signing', agent: 't',
    tool: 'codesign', outcome: 'fail', durationMs: 100, exitCode: 1, keychain: '/k', partitionIds: ['apple:'], invocationId: 'inv',
    error: { code: 'errSecInternalComponent', osStatus: -2070, class: 'keychain', message: 'x' },
    ...(traceparent ? { traceparent } : {}),
  });
}

function setup() {
  const policy = defaultPolicy();
  const telemetry = createTelemetry({ serviceName: 't', host: '127.0.0.1', port: 0, serve: false, tracing: false });
  const holder: { pipeline?: PartitionPipeline } = {};
  const metrics = new ProcessorMetrics(telemetry, policy, () => holder.pipeline?.snapshot() ?? []);
  const pipeline = (holder.pipeline = createPipeline({ policy, topics: { alerts: 'a', hourly: 'h', dlq: 'd' }, clock: 'event', clockDelay: 100, maxEventBytes: 4096, metrics, log: silent }));
  let offset = 0;
  const rec = (value: string, headers?: SourceRecord['headers']): SourceRecord => ({ topic: 'events', partition: 0, offset: String(offset++), timestamp: Date.now(), key: Buffer.from('HK'), value: Buffer.from(value), ...(headers ? { headers } : {}) });
  return { pipeline, rec };
}

void test('the firing transition carries the trace ids of its three failures and names the third record as its cause', () => {
  const { pipeline, rec } = setup();
  const traces = [hex(16), hex(16), hex(16)];
  const out: OutRecord[] = [];
  const ship = `00-${traces[2]}-${hex(8)}-01`;
  pipeline.record(rec(failure(T0, `00-${traces[0]}-${hex(8)}-01`)), true, out);
  // the body only (no header): the event's own context counts
  pipeline.record(rec(failure(T0 + 1000, `00-${traces[1]}-${hex(8)}-01`)), true, out);
  // the header (the daemon's ship span) wins over the body for the cause
  pipeline.record(rec(failure(T0 + 2000, `00-${traces[2]}-${hex(8)}-01`), { traceparent: Buffer.from(ship) }), true, out);
  const t = out.filter((o) => o.counts.kind === 'transition');
  assert.equal(t.length, 1);
  const c = t[0]!.counts;
  assert.ok(c.kind === 'transition');
  assert.equal(c.cause, ship);
  assert.deepEqual([...(c.transition.traceIds ?? [])].sort(), [...traces].sort());
  assert.deepEqual([...((JSON.parse(String(t[0]!.value)) as { traceIds: string[] }).traceIds)].sort(), [...traces].sort(), 'the record value carries them');
});

void test('untraced events: the transition has no trace fields (the wire value is unchanged)', () => {
  const { pipeline, rec } = setup();
  const out: OutRecord[] = [];
  for (const ms of [T0, T0 + 1000, T0 + 2000]) pipeline.record(rec(failure(ms)), true, out);
  const t = out.find((o) => o.counts.kind === 'transition')!;
  assert.ok(t.counts.kind === 'transition');
  assert.equal(t.counts.cause, undefined);
  assert.equal(t.counts.transition.traceIds, undefined);
  assert.ok(!String(t.value).includes('trace'));
});
