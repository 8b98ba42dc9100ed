/**
 * The rollout's wire events (docs/rollout.md): `session` and `doctor` pass validation (never dead-lettered), are
 * counted like every event, and the last doctor verdict per host becomes signwatch_host_ready and the per-region
 * signwatch_hosts_ready / signwatch_hosts_not_ready the fleet dashboard shows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { defaultPolicy } from '../../../services/engine/policy.js';
import { createLogger } from '../../../services/platform/logger.js';
import { createTelemetry } from '../../../services/platform/telemetry.js';
import { ProcessorMetrics } from '../../../services/processor/metrics.js';
import { createPipeline, type OutRecord, type PartitionPipeline, type SourceRecord } from '../../../services/processor/topology.js';
import { id } from '../engine/helpers.js';

const silent = createLogger({ name: 't', level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const base = (ms: number, host: string) => ({ v: 1, id: id(ms), ts: new Date(ms).toISOString(), host, region: 'HK', pool: 'signing', agent: 't' });
const doctor = (ms: number, host: string, ready: boolean) =>
  JSON.stringify({ ...base(ms, host), type: 'doctor', ready, checks: [{ name: 'search_list', ok: ready, detail: ready ? 'ok' : 'the login keychain is first', ...(ready ? {} : { fix: 'agent ssh-command' }) }], durationMs: 1200 });
const session = (ms: number, host: string) =>
  JSON.stringify({ ...base(ms, host), type: 'session', user: 'ci', command: 'xcodebuild archive', outcome: 'exec', searchListBefore: ['/Users/ci/Library/Keychains/login.keychain-db'], searchListAfter: ['/Users/ci/Library/Keychains/ci-build.keychain-db'] });

void test('session and doctor events are processed, counted, and the last doctor verdict per host is on /metrics', async () => {
  const policy = defaultPolicy();
  const telemetry = createTelemetry({ serviceName: 't', host: '127.0.0.1', port: 0, serve: false });
  const holder: { pipeline?: PartitionPipeline } = {};
  const metrics = new ProcessorMetrics(telemetry, policy, () => holder.pipeline?.snapshot() ?? []);
  const pipeline = (holder.pipeline = createPipeline({ policy, topics: { alerts: 'a', hourly: 'h', dlq: 'd' }, clock: 'event', clockDelay: 100, maxEventBytes: 4096, metrics, log: silent }));
  let offset = 0;
  const rec = (value: string): SourceRecord => ({ topic: 'events', partition: 0, offset: String(offset++), timestamp: Date.now(), key: Buffer.from('HK'), value: Buffer.from(value) });
  const out: OutRecord[] = [];
  pipeline.record(rec(session(T0, 'mini-hk-01')), true, out);
  pipeline.record(rec(doctor(T0 + 1000, 'mini-hk-01', false)), true, out);
  pipeline.record(rec(doctor(T0 + 60_000, 'mini-hk-01', true)), true, out); // fixed, re-checked: ready
  pipeline.record(rec(doctor(T0 + 30_000, 'mini-hk-01', false)), true, out); // an older result delivered late changes nothing
  pipeline.record(rec(doctor(T0 + 2000, 'mini-hk-02', false)), true, out);
  assert.deepEqual(out.filter((o) => o.topic === 'd'), [], 'nothing dead-lettered');
  metrics.flush();
  const text = await telemetry.scrape();
  await telemetry.stop();
  assert.match(text, /signwatch_events_in_total\{region="HK",type="doctor"\} 4/);
  assert.match(text, /signwatch_events_in_total\{region="HK",type="session"\} 1/);
  assert.match(text, /signwatch_host_events_total\{region="HK",host="mini-hk-01",type="session",outcome="exec"\} 1/);
  assert.match(text, /signwatch_host_ready\{region="HK",host="mini-hk-01"\} 1/);
  assert.match(text, /signwatch_host_ready\{region="HK",host="mini-hk-02"\} 0/);
  assert.match(text, /signwatch_hosts_ready\{region="HK"\} 1/);
  assert.match(text, /signwatch_hosts_not_ready\{region="HK"\} 1/);
  assert.ok(!/signwatch_hosts_ready\{region="(JP|KR|SG|US)"/.test(text), 'only regions with a doctor result');
});
