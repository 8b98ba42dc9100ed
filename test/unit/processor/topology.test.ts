import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { defaultPolicy, parsePolicy } from '../../../services/engine/policy.js';
import { createLogger } from '../../../services/platform/logger.js';
import { createTelemetry } from '../../../services/platform/telemetry.js';
import { ProcessorMetrics, reasonLabel } from '../../../services/processor/metrics.js';
import { createPipeline, DLQ_HEADERS, hourlyKey, type OutRecord, type PartitionPipeline, type SourceRecord, type TopologyOptions } from '../../../services/processor/topology.js';
import type { HourlyAggregate, Transition } from '../../../services/engine/types.js';
import { id } from '../engine/helpers.js';

const silent = createLogger({ name: 't', level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const T0 = Date.parse('2026-11-20T10:00:00.000Z');

function failure(region: string, ms: number, host = 'mini-hk-01'): string {
  return JSON.stringify({
    v: 1, id: id(ms), ts: new Date(ms).toISOString(), type: 'codesign', host, region, pool: 'signing', agent: 't', correlationId: 'ci-1',
    tool: 'codesign', outcome: 'fail', durationMs: 100, exitCode: 1, keychain: '/k', partitionIds: ['apple:'], invocationId: 'inv',
    error: { code: 'errSecInternalComponent', osStatus: -2070, class: 'keychain', message: 'x' },
  });
}

function setup(policy = defaultPolicy(), clock: 'wall' | 'event' = 'event', extra: Partial<TopologyOptions> = {}) {
  const telemetry = createTelemetry({ serviceName: 't', host: '127.0.0.1', port: 0, serve: false });
  const holder: { pipeline?: PartitionPipeline } = {};
  const metrics = new ProcessorMetrics(telemetry, policy, () => holder.pipeline?.snapshot() ?? []);
  const pipeline = (holder.pipeline = createPipeline({ policy, topics: { alerts: 'a', hourly: 'h', dlq: 'd' }, clock, clockDelay: 100, maxEventBytes: 1024, metrics, log: silent, ...extra }));
  let offset = 0;
  const rec = (value: string | Buffer | null, key = 'HK', timestamp = Date.now()): SourceRecord => ({
    topic: 'events', partition: 2, offset: String(offset++), timestamp, key: Buffer.from(key), value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(value),
  });
  return { telemetry, metrics, pipeline, rec };
}

void test('bad records go to the dead-letter topic with reason and source topic/partition/offset; good ones do not', () => {
  const { pipeline, rec } = setup();
  const out: OutRecord[] = [];
  pipeline.record(rec('{"v":1,'), true, out);
  pipeline.record(rec(JSON.stringify({ v: 1, type: 'codesign' })), true, out);
  pipeline.record(rec('x'.repeat(2000)), true, out);
  pipeline.record(rec(null), true, out);
  pipeline.record(rec(failure('HK', T0)), true, out);
  assert.equal(out.length, 4);
  assert.ok(out.every((o) => o.topic === 'd'));
  assert.deepEqual(out.map((o) => reasonLabel(String(o.headers![DLQ_HEADERS.reason]))), ['not_json', 'schema', 'oversized', 'empty']);
  assert.deepEqual(out.map((o) => o.headers![DLQ_HEADERS.offset]), ['0', '1', '2', '3']);
  assert.ok(out.every((o) => o.headers![DLQ_HEADERS.partition] === '2' && o.headers![DLQ_HEADERS.topic] === 'events'));
  assert.equal((out[2]!.value as Buffer).length, 2000, 'original bytes kept');
  assert.equal(out[0]!.key!.toString(), 'HK');
});

void test('the third keychain failure writes one firing transition keyed by its dedup key; rebuilding (live=false) writes nothing', () => {
  const { pipeline, rec } = setup();
  const out: OutRecord[] = [];
  const lines = [0, 1000, 2000].map((k) => failure('HK', T0 + k));
  const rebuildOut: OutRecord[] = [];
  for (const l of lines) pipeline.record(rec(l), false, rebuildOut);
  pipeline.record(rec('garbage'), false, rebuildOut);
  assert.equal(rebuildOut.length, 0, 'rebuild: engine state only');
  const { pipeline: live, rec: rec2 } = setup();
  for (const l of lines) live.record(rec2(l), true, out);
  assert.equal(out.length, 1);
  const t = JSON.parse(out[0]!.value as string) as Transition;
  assert.equal(out[0]!.topic, 'a');
  assert.equal(out[0]!.key, t.dedupKey);
  assert.equal(t.state, 'firing');
  assert.equal(t.at, new Date(T0 + 2000).toISOString());
  // the rebuilt pipeline is in the same state: the next event moving time past the window resolves both the same way
  const a: OutRecord[] = [];
  const b: OutRecord[] = [];
  const later = failure('HK', T0 + 4_000_000);
  pipeline.record(rec(later), true, a);
  live.record(rec2(later), true, b);
  const strip = (o: OutRecord[]) => o.map((x) => ({ topic: x.topic, key: x.key, value: x.value }));
  assert.deepEqual(strip(a), strip(b));
  assert.ok(a.some((x) => x.topic === 'a' && (JSON.parse(x.value as string) as Transition).state === 'resolved'));
  assert.ok(a.some((x) => x.topic === 'h'), 'the closed hour is written to the hourly topic');
  const h = a.find((x) => x.topic === 'h')!;
  assert.equal(h.key, hourlyKey(JSON.parse(h.value as string) as HourlyAggregate));
});

void test('wall mode: the broker append time moves the clock, so a quiet region resolves on tick()', () => {
  const policy = parsePolicy({ alerts: { codesign_keychain_failures: { window: '10s' } } });
  const { pipeline, rec } = setup(policy, 'wall');
  const out: OutRecord[] = [];
  for (const k of [0, 1000, 2000]) pipeline.record(rec(failure('JP', T0 + k), 'JP', T0 + k + 50), true, out);
  assert.equal(out.filter((o) => o.topic === 'a').length, 1);
  pipeline.tick(T0 + 5000, true, out);
  assert.equal(out.filter((o) => o.topic === 'a').length, 1, 'still firing');
  pipeline.tick(T0 + 10_001, true, out);
  const ts = out.filter((o) => o.topic === 'a').map((o) => JSON.parse(o.value as string) as Transition);
  assert.deepEqual(ts.map((t) => t.state), ['firing', 'resolved']);
  assert.equal(ts[1]!.at, new Date(T0 + 10_000).toISOString(), 'resolves at oldest failure + window, not at tick time');
});

void test('CreateTime topic: a producer that claims a year-9999 record timestamp moves no clock (bounded by the processor clock)', () => {
  const policy = parsePolicy({ alerts: { codesign_keychain_failures: { window: '10s' } } });
  let now = T0 - 1000;
  const { pipeline, rec } = setup(policy, 'wall', { recordTime: 'producer', now: () => now });
  const out: OutRecord[] = [];
  const claimed = Date.parse('9999-12-31T23:59:59.000Z');
  // the poison: event time and record timestamp both claimed in 9999 by a foreign producer
  pipeline.record(rec(failure('JP', claimed), 'JP', claimed), true, out);
  const dead = out.filter((o) => o.topic === 'd');
  assert.equal(dead.length, 1);
  assert.equal(reasonLabel(String(dead[0]!.headers![DLQ_HEADERS.reason])), 'future_timestamp');
  // honest failures after it still page at the third one: the JP clock did not jump to 9999
  now = T0 + 60_000;
  for (const k of [0, 1000, 2000]) pipeline.record(rec(failure('JP', T0 + k), 'JP', T0 + k + 50), true, out);
  const fired = out.filter((o) => o.topic === 'a').map((o) => JSON.parse(o.value as string) as Transition);
  assert.deepEqual(fired.filter((t) => t.alert === 'codesign_keychain_failures').map((t) => [t.state, t.at]), [['firing', new Date(T0 + 2000).toISOString()]]);
  // and the host that claimed 9999 is evidently wrong: clock_skew
  assert.ok(fired.some((t) => t.alert === 'clock_skew' && t.state === 'firing'));
});

void test('/metrics text: names from metric-names.ts, counters with _total, per-region gauges, no scope labels', async () => {
  const { pipeline, rec, metrics, telemetry } = setup();
  const out: OutRecord[] = [];
  for (const k of [0, 1000, 2000]) pipeline.record(rec(failure('HK', T0 + k)), true, out);
  const dup = failure('HK', T0 + 2500);
  pipeline.record(rec(dup), true, out);
  pipeline.record(rec(dup), true, out);
  pipeline.record(rec('nope'), true, out);
  metrics.onDeadLettered('not JSON: x');
  metrics.setLag('events', 2, 17);
  for (const o of out) if (o.counts.kind === 'transition') metrics.onTransition(o.counts.transition);
  metrics.flush();
  const text = await telemetry.scrape();
  await telemetry.stop();
  assert.match(text, /signwatch_keychain_failures_in_window\{region="HK"\} 4/);
  assert.match(text, /signwatch_events_in_total\{region="HK",type="codesign"\} 4/);
  assert.match(text, /signwatch_events_duplicate_total\{region="HK"\} 1/);
  assert.match(text, /signwatch_events_invalid_total\{reason="not_json"\} 1/);
  assert.match(text, /signwatch_dead_lettered_total\{reason="not_json"\} 1/);
  assert.match(text, /signwatch_alert_transitions_total\{alert="codesign_keychain_failures",state="firing"\} 1/);
  assert.match(text, /signwatch_alert_firing\{region="HK",alert="codesign_keychain_failures",severity="critical"\} 1/);
  assert.match(text, /signwatch_release_frozen\{region="HK"\} 1/);
  assert.match(text, /signwatch_consumer_lag_messages\{topic="events",partition="2"\} 17/);
  assert.match(text, /signwatch_host_codesign_errors_total\{region="HK",host="mini-hk-01",code="errSecInternalComponent"\} 4/);
  assert.ok(!text.includes('otel_scope_name'), 'withoutScopeInfo');
  assert.ok(!/signwatch_keychain_failures_in_window\{region="(JP|KR|SG|US)"/.test(text), 'only regions this partition has seen');
});

// regression (issue 15, 1): signwatch_alert_firing stayed 1 after the transition resolved (the SDK's observable
// gauges keep reporting a label set after it was last observed), so the Prometheus rules reading it never cleared
void test('/metrics follows every resolve: alert_firing drops to 0 (then goes), a resolved alert\'s own series go', async () => {
  let wall = T0;
  const policy = defaultPolicy();
  const telemetry = createTelemetry({ serviceName: 't', host: '127.0.0.1', port: 0, serve: false });
  const holder: { pipeline?: PartitionPipeline } = {};
  const metrics = new ProcessorMetrics(telemetry, policy, () => holder.pipeline?.snapshot() ?? [], () => wall);
  const pipeline = (holder.pipeline = createPipeline({ policy, topics: { alerts: 'a', hourly: 'h', dlq: 'd' }, clock: 'event', clockDelay: 0, maxEventBytes: 4096, metrics, log: silent }));
  const acl = JSON.stringify({ v: 1, id: id(T0), ts: new Date(T0).toISOString(), type: 'acl', host: 'mini-hk-01', region: 'HK', pool: 'signing', agent: 't', command: 'set-key-partition-list', keychain: '/k', partitionIds: ['apple-tool:'], declared: false });
  const skew = JSON.stringify({ v: 1, id: id(T0 + 1), ts: new Date(T0 + 1).toISOString(), type: 'clock', host: 'mini-hk-02', region: 'HK', pool: 'signing', agent: 't', offsetMs: 4000, server: 'time.apple.com' });
  const out: OutRecord[] = [];
  let offset = 0;
  // the broker appends each record 10 ms after its event time (its reference time)
  const record = (value: string) => pipeline.record({ topic: 'events', partition: 0, offset: String(offset++), timestamp: Date.parse((JSON.parse(value) as { ts: string }).ts) + 10, key: Buffer.from('HK'), value: Buffer.from(value) }, true, out);
  record(acl);
  record(skew);
  const firing = (text: string, alert: string) => new RegExp(`^signwatch_alert_firing\\{[^}]*alert="${alert}"[^}]*\\} (\\d)$`, 'm').exec(text)?.[1];
  let text = await telemetry.scrape();
  assert.equal(firing(text, 'acl_outside_window'), '1');
  assert.equal(firing(text, 'clock_skew'), '1');
  assert.match(text, /^signwatch_clock_offset_ms\{region="HK",host="mini-hk-02"\} 4000$/m);
  // the ACL change leaves the hold window, the clock comes back within limits: both resolve
  record(JSON.stringify({ ...JSON.parse(skew), id: id(T0 + 2), ts: new Date(T0 + policy.alerts.acl_outside_window.holdFor + 1).toISOString(), offsetMs: 3 }));
  assert.deepEqual(out.filter((o) => o.topic === 'a').map((o) => `${(JSON.parse(String(o.value)) as Transition).alert}/${(JSON.parse(String(o.value)) as Transition).state}`).sort(), ['acl_outside_window/firing', 'acl_outside_window/resolved', 'clock_skew/firing', 'clock_skew/resolved']);
  text = await telemetry.scrape();
  assert.equal(firing(text, 'acl_outside_window'), '0', 'resolved: 0, not a stale 1');
  assert.equal(firing(text, 'clock_skew'), '0');
  assert.match(text, /^signwatch_clock_offset_ms\{region="HK",host="mini-hk-02"\} 3$/m);
  // an hour later (wall clock) the resolved series are gone
  wall += 3_600_001;
  text = await telemetry.scrape();
  assert.equal(firing(text, 'acl_outside_window'), undefined);
  assert.equal(firing(text, 'clock_skew'), undefined);
});

void test('a valid event read outside its region\'s partition is forwarded there (not processed here); a forwarded copy is processed where it is', () => {
  const telemetry = createTelemetry({ serviceName: 't', host: '127.0.0.1', port: 0, serve: false });
  const policy = defaultPolicy();
  const holder: { pipeline?: PartitionPipeline } = {};
  const metrics = new ProcessorMetrics(telemetry, policy, () => holder.pipeline?.snapshot() ?? []);
  const pipeline = (holder.pipeline = createPipeline({
    policy, topics: { alerts: 'a', hourly: 'h', dlq: 'd' }, clock: 'event', clockDelay: 100, maxEventBytes: 1024, metrics, log: silent,
    events: { topic: 'events', partitionOf: (r) => (r === 'HK' ? 4 : 2) },
  }));
  const out: OutRecord[] = [];
  const rec = (value: string, offset: number, headers?: SourceRecord['headers']): SourceRecord => ({ topic: 'events', partition: 2, offset: String(offset), timestamp: T0, key: null, value: Buffer.from(value), headers });
  for (let i = 0; i < 3; i++) pipeline.record(rec(failure('HK', T0 + i * 1000), i, { trace: 'x' }), true, out);
  assert.deepEqual(out.map((o) => [o.topic, o.partition, o.key, o.headers?.[DLQ_HEADERS.reroutedFrom], o.headers?.trace, o.counts.kind]), [0, 1, 2].map((i) => ['events', 4, 'HK', `2/${i}`, 'x', 'rerouted']));
  assert.equal(pipeline.snapshot().length, 0, 'nothing offered to this partition\'s engine');
  // rebuilding: nothing forwarded again
  const again: OutRecord[] = [];
  pipeline.record(rec(failure('HK', T0), 0), false, again);
  assert.equal(again.length, 0);
  // invalid records are dead-lettered here; an already forwarded copy is processed here (partition count changed)
  const bad: OutRecord[] = [];
  pipeline.record(rec('{"v":1', 9), true, bad);
  assert.equal(bad[0]?.topic, 'd');
  const fwd: OutRecord[] = [];
  for (let i = 0; i < 3; i++) pipeline.record(rec(failure('HK', T0 + i * 1000), 10 + i, { [DLQ_HEADERS.reroutedFrom]: '1/5' }), true, fwd);
  assert.deepEqual(fwd.map((o) => o.topic), ['a'], 'processed here: the page');
});

void test('an undecodable batch marker becomes one undecodable_batch dead letter naming partition and offsets (none while rebuilding)', () => {
  const { pipeline, rec } = setup();
  const out: OutRecord[] = [];
  const b = { firstOffset: '10', lastOffset: '14', codec: 'lz4', records: 5, why: 'CRC-32C mismatch' };
  pipeline.undecodable(rec(null), b, false, out);
  assert.equal(out.length, 0);
  pipeline.undecodable(rec(null), b, true, out);
  assert.equal(out.length, 1);
  const h = out[0]!.headers!;
  assert.equal(reasonLabel(String(h[DLQ_HEADERS.reason])), 'undecodable_batch');
  assert.deepEqual([h[DLQ_HEADERS.partition], h[DLQ_HEADERS.offset], h[DLQ_HEADERS.lastOffset]], ['2', '10', '14']);
});
