// The two long-running commands against the real broker: `signwatch alerts notify` (alert topic → fake PagerDuty)
// and `signwatch gate serve` (state rebuilt from the alert topic) with `signwatch gate check` in front of it.
import { testKafka } from '../../harness/kafka.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakePagerDuty } from '../../../services/alerting/fake-pagerduty.js';
import { freePort } from '../../harness/prom-stack.js';
import { ROUTING_KEY, transition } from '../../unit/alerting/transitions.js';
import { stopChild as stop } from '../../harness/child.js';

const MAIN = fileURLToPath(new URL('../../../services/cli/main.js', import.meta.url));
const BROKERS = process.env.SIGNWATCH_KAFKA_BROKERS ?? '127.0.0.1:9092';
const kafka = testKafka(BROKERS, 'sw-test-alerting-cli');

function cli(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function exitCode(args: string[]): Promise<number | null> {
  const p = cli(args);
  return new Promise((r) => p.on('close', (c) => r(c)));
}

void test('signwatch alerts notify and signwatch gate serve/check over a real alert topic', { timeout: 90_000 }, async () => {
  const topic = `sw-test-cli-alerts-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const pd = await startFakePagerDuty();
  const dir = mkdtempSync(join(tmpdir(), 'sw-cli-'));
  const procs: ChildProcess[] = [];
  try {
    const t = transition('codesign_keychain_failures', { region: 'KR' }, 'firing', '2026-11-26T01:00:00.000Z');
    await producer.send({ topic, acks: -1, messages: [{ key: t.dedupKey, value: JSON.stringify(t) }] });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    procs.push(cli(['alerts', 'notify', '--metrics-port', '0', '--brokers', BROKERS, '--topic', topic, '--group', `${topic}-n`, '--outbox', join(dir, 'outbox.sqlite'), '--pagerduty-url', pd.eventsUrl], { SIGNWATCH_PD_ROUTING_KEY: ROUTING_KEY }));
    procs.push(cli(['gate', 'serve', '--brokers', BROKERS, '--topic', topic, '--port', String(port)], { SIGNWATCH_GATE_TOKEN: 'tok' }));
    await pd.waitFor((f) => f.events.length === 1, 45_000);
    assert.equal(pd.events[0]!.body.dedup_key, 'signwatch/codesign_keychain_failures/region=KR');
    const deadline = Date.now() + 30_000;
    let code: number | null = null;
    while (Date.now() < deadline) {
      code = await exitCode(['gate', 'check', '--region', 'KR', '--url', url, '--timeout', '2s']);
      if (code === 1) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal(code, 1, 'KR is frozen (state rebuilt from the topic)');
    assert.equal(await exitCode(['gate', 'check', '--region', 'US', '--url', url]), 0);
    const r = { ...t, state: 'resolved' as const, at: '2026-11-26T02:00:00.000Z' };
    await producer.send({ topic, acks: -1, messages: [{ key: r.dedupKey, value: JSON.stringify(r) }] });
    await pd.waitFor((f) => f.events.length === 2, 30_000);
    assert.equal(pd.events[1]!.body.event_action, 'resolve');
    const d2 = Date.now() + 120_000;
    while (Date.now() < d2 && (code = await exitCode(['gate', 'check', '--region', 'KR', '--url', url])) !== 0) await new Promise((res) => setTimeout(res, 300));
    assert.equal(code, 0, 'KR open again after the resolve');
  } finally {
    await Promise.all(procs.map(stop));
    await pd.close();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
});
