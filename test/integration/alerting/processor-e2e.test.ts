// End to end with the real processor: keychain failures on the events topic → processor → (a) alert topic →
// `alerts notify` bridge → fake PagerDuty + release gate, and (b) /metrics → real Prometheus (generated rules) →
// real Alertmanager (generated routing) → fake PagerDuty. Both paths page once and resolve with their key.
import { parseKafkaConnection } from '../../../services/platform/kafka-connection.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startFakePagerDuty } from '../../../services/alerting/fake-pagerduty.js';
import { startPromStackOnFakePagerDuty, type PromStack } from '../../harness/prom-stack.js';
import { keychainFailure, startProcessorProcess, unlockOk } from '../../harness/processor-proc.js';
import { createNotifier } from '../../../services/alerting/notifier.js';
import { PagerDutyChannel } from '../../../services/alerting/channels.js';
import { alertTopicNotifier } from '../../../services/alerting/alert-topic-notifier.js';
import { ReleaseGate } from '../../../services/alerting/release-gate.js';
import { loadPolicy } from '../../../services/engine/policy.js';

const BROKERS = (process.env.SIGNWATCH_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const ROUTING_KEY = 'R0UTINGKEY00000000000000000000AA';

void test('processor incident: the direct path and Prometheus + Alertmanager both page, freeze, and resolve', { timeout: 150_000 }, async () => {
  const policy = loadPolicy();
  const pd = await startFakePagerDuty();
  const dir = mkdtempSync(join(tmpdir(), 'sw-proc-e2e-'));
  const proc = await startProcessorProcess({ brokers: BROKERS, clock: 'event' });
  const gate = new ReleaseGate(policy);
  const bridge = alertTopicNotifier({
    kafka: parseKafkaConnection({ brokers: BROKERS }, 'sw-test-notifier'),
    topic: proc.topics.alerts,
    groupId: `${proc.topics.alerts}-notifier`,
    notifier: createNotifier({ outboxPath: join(dir, 'outbox.sqlite'), routes: { ticket: [] }, retry: { baseMs: 50, maxMs: 500 } }, { policy, logger: pino({ level: 'silent' }), channels: { pagerduty: new PagerDutyChannel(ROUTING_KEY, pd.eventsUrl) } }),
    onTransition: (t) => gate.apply(t),
  });
  let stack: PromStack | undefined;
  try {
    await bridge.start();
    stack = await startPromStackOnFakePagerDuty({ policy, targets: [proc.metricsTarget], pd, routingKey: ROUTING_KEY });
    // every event in the past of the broker's clock (an event more than maxFutureSkew ahead is dead-lettered)
    const base = Date.now() - 70 * 60_000;
    const at = (ms: number) => new Date(base + ms).toISOString();
    await proc.produce([keychainFailure('JP', at(0)), keychainFailure('JP', at(1000))]);
    await proc.produce([keychainFailure('JP', at(2000))]);
    const direct = (f: typeof pd, action: string) => f.events.filter((e) => e.body.client === 'signwatch' && e.body.event_action === action);
    const viaAm = (f: typeof pd, action: string) => f.events.filter((e) => e.body.client === 'Alertmanager' && e.body.event_action === action);
    await pd.waitFor((f) => direct(f, 'trigger').length === 1, 30_000);
    const d = direct(pd, 'trigger')[0]!.body as { dedup_key: string; payload: { timestamp: string; severity: string; custom_details: { error_codes: string[]; hosts: string[] } } };
    assert.equal(d.dedup_key, 'signwatch/codesign_keychain_failures/region=JP');
    assert.equal(d.payload.timestamp, at(2000), 'fires at the third failure');
    assert.equal(d.payload.severity, 'critical');
    assert.deepEqual(d.payload.custom_details.error_codes, ['errSecInternalComponent']);
    assert.deepEqual(d.payload.custom_details.hosts, ['mac-jp-01']);
    assert.equal(gate.state('JP').frozen, true);
    await pd.waitFor((f) => viaAm(f, 'trigger').length >= 1, 60_000);
    const a = viaAm(pd, 'trigger')[0]!.body as { dedup_key: string; payload: { group: string; severity: string } };
    assert.equal(a.payload.group, 'JP');
    assert.equal(a.payload.severity, 'critical');

    // event time moves past the oldest failure + 60 min: the alert resolves on both paths
    await proc.produce([unlockOk('JP', at(61 * 60_000))]);
    await pd.waitFor((f) => direct(f, 'resolve').length === 1, 30_000);
    assert.equal(direct(pd, 'resolve')[0]!.body.dedup_key, d.dedup_key);
    assert.equal(gate.state('JP').frozen, false);
    await pd.waitFor((f) => viaAm(f, 'resolve').length >= 1, 60_000);
    assert.equal(viaAm(pd, 'resolve')[0]!.body.dedup_key, a.dedup_key);
    assert.equal(direct(pd, 'trigger').length, 1, 'the direct path sent the trigger once');
  } finally {
    await stack?.stop();
    await bridge.stop();
    await proc.stop();
    await pd.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
