/**
 * One alert = one folder + one line: a toy alert (toy_unlock_failures/) added to a registry shows up in the policy
 * schema, the engine, the processor's topology and gauges, the release gate, the state horizon, the generated
 * Prometheus/Grafana rules, the promtool tests and the runbooks — with nothing else edited.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { RULES } from '../../../services/engine/rules/index.js';
import { parsePolicy } from '../../../services/engine/policy.js';
import { createEngine, MemorySink, stateHorizon } from '../../../services/engine/engine.js';
import { generateFiles } from '../../../services/alerting/generate/index.js';
import { ReleaseGate } from '../../../services/alerting/release-gate.js';
import { createLogger } from '../../../services/platform/logger.js';
import { createTelemetry } from '../../../services/platform/telemetry.js';
import { ProcessorMetrics } from '../../../services/processor/metrics.js';
import { createPipeline, type OutRecord } from '../../../services/processor/topology.js';
import type { Transition } from '../../../services/engine/types.js';
import toy, { TOY_METRIC } from './toy_unlock_failures/index.js';

const WITH_TOY = [...RULES, toy]; // the one line

const unlockFail = (n: number, ms: number) => ({
  v: 1, id: `01JT00${String(n).padStart(20, '0')}`, ts: new Date(ms).toISOString(), type: 'unlock', host: 'mini-hk-01', region: 'HK', pool: 'signing', agent: 't',
  outcome: 'fail', durationMs: 10, keychain: '/k', error: { code: 'errSecAuthFailed', osStatus: -25293, class: 'keychain', message: 'x' },
}) as const;

void test('a toy alert added through one folder and one line appears everywhere an alert must', async () => {
  const T0 = Date.parse('2026-11-20T10:00:00.000Z');
  // policy: its block with defaults, its keys validated by name
  const policy = parsePolicy({ alerts: { toy_unlock_failures: { limit: 1 } } }, 'policy', WITH_TOY);
  assert.deepEqual((policy.alerts as Record<string, unknown>).toy_unlock_failures, { enabled: true, severity: 'critical', for: 0, keepFiringFor: 0, limit: 1, window: 600_000 });
  assert.throws(() => parsePolicy({ alerts: { toy_unlock_failures: { limt: 1 } } }, 'p', WITH_TOY), /p: alerts\.toy_unlock_failures\.limt: unknown key/);
  assert.throws(() => parsePolicy({ alerts: { toy_unlock_failures: {} } }, 'p'), /alerts\.toy_unlock_failures: unknown key/, 'not in the built-in registry');

  // state horizon: its own horizon is the longest
  assert.equal(stateHorizon(policy, WITH_TOY), policy.hourlyRetention + policy.allowedLateness + Math.max(30 * 86_400_000, 600_123));
  const longToy = parsePolicy({ alerts: { toy_unlock_failures: { window: '40d' } } }, 'p', WITH_TOY);
  assert.equal(stateHorizon(longToy, WITH_TOY), longToy.hourlyRetention + longToy.allowedLateness + 40 * 86_400_000 + 123);

  // engine: fires on the second failure, resolves when the first leaves the window
  const sink = new MemorySink();
  const engine = createEngine(policy, sink, { rules: WITH_TOY });
  engine.offer(unlockFail(1, T0));
  engine.offer(unlockFail(2, T0 + 1000));
  engine.advanceTo(T0 + 700_000);
  const toyTs = sink.transitions.filter((t) => t.alert === 'toy_unlock_failures');
  assert.deepEqual(toyTs.map((t) => [t.state, t.at]), [['firing', new Date(T0 + 1000).toISOString()], ['resolved', new Date(T0 + 600_000).toISOString()]]);

  // processor: the transition goes to the alert topic, the gauge is on /metrics, the release gate freezes on it
  const telemetry = createTelemetry({ serviceName: 't', host: '127.0.0.1', port: 0, serve: false });
  const silent = createLogger({ name: 't', level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const holder: { snap?: () => ReturnType<ReturnType<typeof createPipeline>['snapshot']> } = {};
  const metrics = new ProcessorMetrics(telemetry, policy, () => holder.snap?.() ?? [], Date.now, WITH_TOY);
  const pipeline = createPipeline({ policy, topics: { alerts: 'a', hourly: 'h', dlq: 'd' }, clock: 'event', clockDelay: 0, maxEventBytes: 4096, metrics, log: silent, rules: WITH_TOY });
  holder.snap = () => pipeline.snapshot();
  const out: OutRecord[] = [];
  for (const [i, ms] of [T0, T0 + 1000].entries()) {
    pipeline.record({ topic: 'e', partition: 0, offset: String(i), timestamp: ms, key: Buffer.from('HK'), value: Buffer.from(JSON.stringify(unlockFail(10 + i, ms))) }, true, out);
  }
  const fired = out.filter((r) => r.topic === 'a').map((r) => JSON.parse(String(r.value)) as Transition);
  assert.deepEqual(fired.map((t) => `${t.alert}/${t.state}`), ['toy_unlock_failures/firing']);
  const text = await telemetry.scrape();
  assert.match(text, new RegExp(`^${TOY_METRIC}\\{region="HK"\\} 2$`, 'm'), 'its gauge is exported');
  assert.match(text, /^signwatch_alert_firing\{region="HK",alert="toy_unlock_failures",severity="critical"\} 1$/m);
  assert.match(text, /^signwatch_release_frozen\{region="HK"\} 1$/m, 'freezes: true freezes the region');
  const gate = new ReleaseGate(policy, { rules: WITH_TOY });
  gate.apply(fired[0]!);
  assert.equal(gate.state('HK').frozen, true);

  // generated files: Prometheus rule, promtool test, Grafana rule, runbook (from a skeleton: it has no prose yet)
  const files = generateFiles(policy, { rules: WITH_TOY, readRunbook: (a) => (a === 'toy_unlock_failures' ? undefined : 'prose\n') });
  assert.match(files.get('prometheus/signwatch.rules.yml')!, /alert: toy_unlock_failures\n\s+expr: signwatch_toy_unlock_failures > 1/);
  assert.match(files.get('prometheus/signwatch.rules.test.yml')!, /toy_unlock_failures: fires only on the alerting side of > 1/);
  assert.match(files.get('grafana/provisioning/alerting/signwatch-rules.yaml')!, /toy_unlock_failures/);
  const runbook = files.get('runbooks/toy_unlock_failures.md')!;
  assert.match(runbook, /^# toy_unlock_failures\n/);
  assert.match(runbook, /`signwatch_toy_unlock_failures > 1`/);
  assert.match(runbook, /`signwatch\/toy_unlock_failures\/region=<region>`/);
  assert.match(runbook, /## What it means/);
  // and nothing of it leaks into the built-in registry
  assert.ok(!RULES.some((r) => (r.name as string) === 'toy_unlock_failures'));
});
