// The direct path's last leg against the real broker: alert topic → notifier (outbox) → fake PagerDuty, across a
// restart; and the release gate rebuilt from the alert topic.
import { testKafka } from '../../harness/kafka.js';
import { parseKafkaConnection } from '../../../services/platform/kafka-connection.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startFakePagerDuty, type FakePagerDuty } from '../../../services/alerting/fake-pagerduty.js';
import { createNotifier } from '../../../services/alerting/notifier.js';
import { PagerDutyChannel } from '../../../services/alerting/channels.js';
import { alertTopicNotifier } from '../../../services/alerting/alert-topic-notifier.js';
import { alertTopicReader } from '../../../services/alerting/alert-topic.js';
import { ReleaseGate } from '../../../services/alerting/release-gate.js';
import { defaultPolicy } from '../../../services/engine/policy.js';
import type { Transition } from '../../../services/engine/types.js';
import { ROUTING_KEY, transition } from '../../unit/alerting/transitions.js';

const BROKERS = (process.env.SIGNWATCH_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const policy = defaultPolicy();
const silent = pino({ level: 'silent' });
const kafka = testKafka(BROKERS, 'sw-test-alerting');

async function withTopic(fn: (topic: string, produce: (ts: Transition[]) => Promise<void>) => Promise<void>): Promise<void> {
  const topic = `sw-test-alerts-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    await fn(topic, async (ts) => {
      await producer.send({ topic, acks: -1, messages: ts.map((t) => ({ key: t.dedupKey, value: JSON.stringify(t) })) });
    });
  } finally {
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

const bridge = (pd: FakePagerDuty, topic: string, outboxPath: string, groupId: string) =>
  alertTopicNotifier({
    kafka: parseKafkaConnection({ brokers: BROKERS }, 'sw-test-notifier'),
    topic,
    groupId,
    notifier: createNotifier({ outboxPath, retry: { baseMs: 20, maxMs: 200 }, routes: { ticket: [] } }, { policy, logger: silent, channels: { pagerduty: new PagerDutyChannel(ROUTING_KEY, pd.eventsUrl, 2000) } }),
  });

void test('alert topic → PagerDuty: trigger, restart, resolve; nothing sent twice', { timeout: 90_000 }, async () => {
  const pd = await startFakePagerDuty();
  const dir = mkdtempSync(join(tmpdir(), 'sw-alert-topic-'));
  try {
    await withTopic(async (topic, produce) => {
      const group = `sw-test-notifier-${randomUUID().slice(0, 8)}`;
      const outbox = join(dir, 'outbox.sqlite');
      const a = bridge(pd, topic, outbox, group);
      await a.start();
      await produce([transition('codesign_keychain_failures', { region: 'HK' }, 'firing', '2026-11-26T01:00:00.000Z')]);
      await pd.waitFor((f) => f.events.length === 1, 30_000);
      await a.stop();
      // while the notifier is down the incident resolves; the same trigger is also re-produced (at-least-once upstream)
      await produce([
        transition('codesign_keychain_failures', { region: 'HK' }, 'firing', '2026-11-26T01:00:00.000Z'),
        transition('codesign_keychain_failures', { region: 'HK' }, 'resolved', '2026-11-26T02:00:00.000Z'),
      ]);
      const b = bridge(pd, topic, outbox, group);
      await b.start();
      try {
        await pd.waitFor((f) => f.events.length >= 2, 30_000);
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        await b.stop();
      }
      assert.deepEqual(pd.events.map((e) => e.body.event_action), ['trigger', 'resolve']);
      assert.equal(pd.incidents.length, 1);
      assert.ok(pd.incidents[0]!.resolvedAt !== undefined);
    });
  } finally {
    await pd.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('the release gate rebuilds its state from the alert topic', { timeout: 60_000 }, async () => {
  await withTopic(async (topic, produce) => {
    await produce([
      transition('codesign_keychain_failures', { region: 'HK' }, 'firing', '2026-11-26T01:00:00.000Z'),
      transition('codesign_keychain_failures', { region: 'JP' }, 'firing', '2026-11-26T01:10:00.000Z'),
      transition('unlock_latency_p95', { region: 'SG' }, 'firing', '2026-11-26T01:20:00.000Z'),
      transition('codesign_keychain_failures', { region: 'JP' }, 'resolved', '2026-11-26T02:10:00.000Z'),
    ]);
    const gate = new ReleaseGate(policy);
    const reader = alertTopicReader({ kafka: parseKafkaConnection({ brokers: BROKERS }, 'sw-test-gate'), topic, onTransition: (t) => gate.apply(t) });
    await reader.start();
    try {
      const deadline = Date.now() + 30_000;
      while (reader.applied < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(reader.applied, 4);
    } finally {
      await reader.stop();
    }
    assert.deepEqual(gate.states().filter((s) => s.frozen).map((s) => [s.region, s.since]), [['HK', '2026-11-26T01:00:00.000Z']]);
  });
});
