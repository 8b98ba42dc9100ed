/**
 * `signwatch alerts notify` and `signwatch gate serve` read the alert topic of a secured cluster: a private broker with
 * a SASL_SSL listener (test/harness/sasl-broker.ts), each command's `--config` file holding the one `kafka:` block
 * (tls.caFile, sasl scram-sha-256 / scram-sha-512, passwordFile or passwordEnv). The page reaches the fake PagerDuty,
 * the gate freezes the region; the password is in no argv (/proc/<pid>/cmdline) and no log line. A wrong password
 * and an untrusted CA make each command exit 1 with one line naming the brokers, within the connection timeout.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakePagerDuty } from '../../../services/alerting/fake-pagerduty.js';
import { freePort } from '../../harness/prom-stack.js';
import { cmdlines, startSaslBroker, type SaslBroker } from '../../harness/sasl-broker.js';
import { ROUTING_KEY, transition } from '../../unit/alerting/transitions.js';

const MAIN = fileURLToPath(new URL('../../../services/cli/main.js', import.meta.url));

let broker: SaslBroker;
let dir: string;
before(async () => {
  broker = await startSaslBroker();
  dir = mkdtempSync(join(tmpdir(), 'sw-alerting-sasl-'));
});
after(async () => {
  await broker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Proc {
  p: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function run(args: string[], env: Record<string, string> = {}): Proc {
  // a clean environment: no SIGNWATCH_* of the runner leaks in
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SIGNWATCH_'))) as Record<string, string>;
  const p = spawn(process.execPath, [MAIN, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  p.stderr?.setEncoding('utf8').on('data', (s: string) => (out += s));
  return { p, out: () => out, exited: new Promise((r) => p.on('close', (c) => r(c))) };
}

async function stop(x: Proc): Promise<void> {
  if (x.p.exitCode !== null || x.p.signalCode !== null) return;
  x.p.kill('SIGTERM');
  const t = setTimeout(() => x.p.kill('SIGKILL'), 10_000);
  await x.exited;
  clearTimeout(t);
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function alertTopic(): Promise<string> {
  const topic = `sw-test-sasl-alerts-${randomUUID().slice(0, 8)}`;
  const kafka = broker.admin();
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const t = transition('codesign_keychain_failures', { region: 'HK' }, 'firing', '2026-11-26T01:00:00.000Z');
  await producer.send({ topic, acks: -1, messages: [{ key: t.dedupKey, value: JSON.stringify(t) }] });
  await producer.disconnect();
  return topic;
}

function configFile(name: string, o: Record<string, unknown>): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(o, null, 2));
  return path;
}

void test('notifier and gate read alerts over SASL_SSL (one kafka block each); no secret in argv or logs', { timeout: 120_000 }, async () => {
  const topic = await alertTopic();
  const pd = await startFakePagerDuty();
  const procs: Proc[] = [];
  try {
    // the notifier: SCRAM-SHA-256, the password from a named environment variable
    const notifyCfg = configFile('notify.json', {
      kafka: { ...broker.block({ mechanism: 'scram-sha-256' }), sasl: { mechanism: 'scram-sha-256', username: broker.user, passwordEnv: 'ALERTS_KAFKA_PASSWORD' } },
      topic,
      groupId: `${topic}-notifier`,
      outbox: join(dir, 'outbox.sqlite'),
      pagerdutyUrl: pd.eventsUrl,
      metrics: { port: 0 },
    });
    const check = run(['alerts', 'notify', '--config', notifyCfg, '--check-config'], { ALERTS_KAFKA_PASSWORD: broker.password });
    assert.equal(await check.exited, 0, check.out());
    const shown = JSON.parse(check.out()) as { kafka: { brokers: string[]; sasl: { password: string } }; topic: string };
    assert.deepEqual(shown.kafka.brokers, [broker.saslSsl]);
    assert.equal(shown.kafka.sasl.password, '[redacted]: from environment variable ALERTS_KAFKA_PASSWORD (set)');
    assert.equal(shown.topic, topic);
    assert.ok(!check.out().includes(broker.password));

    const notifier = run(['alerts', 'notify', '--config', notifyCfg], { SIGNWATCH_PD_ROUTING_KEY: ROUTING_KEY, ALERTS_KAFKA_PASSWORD: broker.password });
    procs.push(notifier);
    // the gate: SCRAM-SHA-512, the password from a file
    const port = await freePort();
    const gateCfg = configFile('gate.json', { kafka: broker.block({ mechanism: 'scram-sha-512' }), topic, port });
    const gate = run(['gate', 'serve', '--config', gateCfg], { SIGNWATCH_GATE_TOKEN: 'gate-token-for-the-test' });
    procs.push(gate);

    await pd.waitFor((f) => f.events.length === 1, 60_000);
    assert.equal(pd.events[0]!.body.dedup_key, 'signwatch/codesign_keychain_failures/region=HK');
    assert.equal(pd.events[0]!.body.event_action, 'trigger');

    let frozen = false;
    await until(
      'the gate to freeze HK',
      async () => {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/v1/release-gate?region=HK`);
          frozen = res.ok && ((await res.json()) as { frozen: boolean }).frozen;
        } catch {
          frozen = false;
        }
        return frozen;
      },
      60_000,
    );
    assert.ok(frozen);

    const argv = await cmdlines([notifier.p.pid!, gate.p.pid!]);
    assert.match(argv, /alerts notify/);
    assert.match(argv, /gate serve/);
    assert.ok(!argv.includes(broker.password), 'no password in argv');
    await stop(notifier);
    await stop(gate);
    const logs = notifier.out() + gate.out();
    assert.match(notifier.out(), /notifier running/);
    assert.match(notifier.out(), new RegExp(`SASL scram-sha-256 as ${broker.user}`));
    assert.match(gate.out(), /release gate serving/);
    assert.ok(!logs.includes(broker.password), 'no password in the logs');
  } finally {
    for (const p of procs) await stop(p);
    await pd.close();
  }
});

void test('notifier and gate over SASL_SSL: a wrong password and an untrusted CA exit 1 with one line, within the connection timeout', { timeout: 90_000 }, async () => {
  const topic = await alertTopic();
  const wrong = join(dir, 'wrong-password');
  const wrongPassword = `x${broker.password}`;
  writeFileSync(wrong, wrongPassword, { mode: 0o600 });
  const cases = [
    {
      what: 'notifier, wrong password',
      args: ['alerts', 'notify', '--config', configFile('n-wrong.json', { kafka: broker.block({ passwordFile: wrong, mechanism: 'scram-sha-256' }), topic, metrics: { port: 0 }, outbox: join(dir, 'o2.sqlite') })],
      line: /^signwatch alerts notify: Kafka: cannot connect to 127\.0\.0\.1:\d+ \(TLS, CA [^)]+, SASL scram-sha-256 as signwatch-it\): SASL scram-sha-256 authentication of user signwatch-it was refused/,
    },
    {
      what: 'gate, wrong password',
      args: ['gate', 'serve', '--config', configFile('g-wrong.json', { kafka: broker.block({ passwordFile: wrong }), topic, port: 0 })],
      line: /^signwatch gate serve: Kafka: cannot connect to .*SASL scram-sha-512 authentication of user signwatch-it was refused/,
    },
    {
      what: 'notifier, untrusted CA',
      args: ['alerts', 'notify', '--config', configFile('n-ca.json', { kafka: broker.block({ caFile: null }), topic, metrics: { port: 0 }, outbox: join(dir, 'o3.sqlite') })],
      line: /^signwatch alerts notify: Kafka: cannot connect to 127\.0\.0\.1:\d+ \(TLS, system CAs, SASL scram-sha-512 as signwatch-it\): TLS: the broker's certificate is not trusted \(self[- ]signed certificate in certificate chain\); set kafka\.tls\.caFile/,
    },
    {
      what: 'gate, untrusted CA',
      args: ['gate', 'serve', '--config', configFile('g-ca.json', { kafka: broker.block({ caFile: null }), topic, port: 0 })],
      line: /^signwatch gate serve: Kafka: cannot connect to .*TLS: the broker's certificate is not trusted/,
    },
  ];
  for (const c of cases) {
    const t0 = Date.now();
    const r = run(c.args, { SIGNWATCH_PD_ROUTING_KEY: ROUTING_KEY });
    const code = await r.exited;
    const ms = Date.now() - t0;
    const lines = r.out().split('\n').filter((l) => l.trim() !== '');
    assert.equal(code, 1, `${c.what}: exit 1\n${r.out()}`);
    assert.equal(lines.length, 1, `${c.what}: one line\n${r.out()}`);
    assert.match(lines[0]!, c.line, c.what);
    assert.ok(!r.out().includes(broker.password) && !r.out().includes(wrongPassword), `${c.what}: no password in the output`);
    // the connection timeout (3 s default) plus node's start-up; not kafkajs's 10 retries
    assert.ok(ms < 10_000, `${c.what}: took ${ms} ms`);
  }
});
