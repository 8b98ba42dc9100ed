/**
 * The agent daemon ships its spool to a secured cluster: a private broker with a SASL_SSL listener (scripts/kafka.sh,
 * test CA made by openssl at start, SCRAM user made with kafka-configs), the agent's `kafka:` block with tls.caFile and
 * sasl.passwordFile. Every spooled event arrives, keyed by region; the password is in no argv (/proc/<pid>/cmdline)
 * and in no log line. A wrong password and an untrusted CA each fail `agent run --once` with one clear line.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { BIN, cli, cliAsync, sandbox, spooled } from '../../unit/agent/helpers.js';
import { cmdlines, startSaslBroker, type SaslBroker } from '../../harness/sasl-broker.js';

let broker: SaslBroker;
before(async () => {
  broker = await startSaslBroker();
});
after(async () => {
  await broker?.stop();
});

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function createTopic(topic: string): Promise<void> {
  const admin = broker.admin().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
}

/** Every record of `topic` (read through the plaintext listener), by event id → key. */
async function readTopic(topic: string, want: number, timeoutMs: number): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const consumer = broker.admin().consumer({ groupId: `agent-sasl-it-${ulid()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      const id = (JSON.parse(message.value?.toString() ?? '{}') as { id: string }).id;
      seen.set(id, message.key?.toString() ?? '');
      return Promise.resolve();
    },
  });
  try {
    await until(`${want} records in ${topic}`, () => seen.size >= want, timeoutMs);
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

const agentConfig = (dataDir: string, topic: string, block: Record<string, unknown>) => ({
  region: 'JP',
  host: 'mini-jp-03',
  dataDir,
  kafka: { ...block, topic },
  intervals: { shipMs: 100, heartbeatSec: 3600, scanSec: 3600, clockSec: 3600 },
});

void test('agent daemon ships its spool over SASL_SSL (SCRAM-SHA-512, CA file, password file): every event arrives; no secret in argv or logs', { timeout: 120_000 }, async () => {
  const topic = `events.v1.agent-sasl-${ulid().toLowerCase()}`;
  await createTopic(topic);
  const sb = sandbox();
  let daemon: ChildProcess | undefined;
  try {
    writeFileSync(sb.config, JSON.stringify(agentConfig(sb.dataDir, topic, broker.block())));
    // --check-config shows the block, says where the password comes from, never the password
    const check = cli(['agent', 'run', '--check-config'], sb.env);
    assert.equal(check.status, 0, check.stderr.toString());
    const shown = JSON.parse(check.stdout.toString()) as { kafka: { brokers: string[]; tls: { caFile: string }; sasl: { mechanism: string; password: string } } };
    assert.deepEqual(shown.kafka.brokers, [broker.saslSsl]);
    assert.equal(shown.kafka.tls.caFile, broker.caFile);
    assert.equal(shown.kafka.sasl.mechanism, 'scram-sha-512');
    assert.match(shown.kafka.sasl.password, /^\[redacted\]: from file .* \(readable\)$/);
    assert.ok(!check.stdout.toString().includes(broker.password));

    // events in the spool before the daemon starts: real `agent exec` calls (fake codesign)
    for (let i = 0; i < 5; i++) {
      const r = cli(['agent', 'exec', '--', 'codesign', '-s', 'X', `a${i}.app`], { ...sb.env, FAKE_CODESIGN: 'codesign-errSecInternalComponent__replacing-existing' });
      assert.equal(r.status, 1);
    }
    const ids = spooled(sb.dataDir).map((e) => String(e.id));
    assert.equal(ids.length, 5);

    daemon = spawn(process.execPath, [BIN, 'agent', 'run'], { env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let logs = '';
    daemon.stdout?.setEncoding('utf8').on('data', (s: string) => (logs += s));
    daemon.stderr?.setEncoding('utf8').on('data', (s: string) => (logs += s));
    const argv = await cmdlines([daemon.pid!]);
    assert.match(argv, /agent run/);
    assert.ok(!argv.includes(broker.password), 'the password is not in the daemon argv');

    // the spooled events, and the daemon's own (scan, clock, heartbeat) reach the topic; the spool empties
    const seen = await readTopic(topic, ids.length + 1, 60_000);
    for (const id of ids) assert.equal(seen.get(id), 'JP', `event ${id} arrived keyed by region`);
    await until('the spool to empty', () => spooled(sb.dataDir).length === 0, 30_000);
    const closed = new Promise((r) => daemon!.once('close', r));
    daemon.kill('SIGTERM');
    await closed;
    assert.match(logs, /agent started/);
    assert.match(logs, new RegExp(`SASL scram-sha-512 as ${broker.user}`));
    assert.doesNotMatch(logs, /ship failed/);
    assert.ok(!logs.includes(broker.password), 'the password is in no log line');
  } finally {
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
    sb.cleanup();
  }
});

void test('agent over SASL_SSL: a wrong password and an untrusted CA fail with one clear line; no secret in the output', { timeout: 90_000 }, async () => {
  const topic = `events.v1.agent-sasl-${ulid().toLowerCase()}`;
  await createTopic(topic);
  const sb = sandbox();
  try {
    const wrong = join(sb.dir, 'wrong-password');
    const wrongPassword = `not-${broker.password}`;
    writeFileSync(wrong, wrongPassword, { mode: 0o600 });
    assert.equal(cli(['agent', 'exec', '--', 'codesign', '-s', 'X', 'a.app'], { ...sb.env, FAKE_CODESIGN: 'codesign-no-identity-found' }).status, 1);

    // wrong password
    writeFileSync(sb.config, JSON.stringify(agentConfig(sb.dataDir, topic, broker.block({ passwordFile: wrong, mechanism: 'scram-sha-256' }))));
    let pid = 0;
    const t0 = Date.now();
    const r1 = await cliAsync(['agent', 'run', '--once', '--timeout', '6'], sb.env, { onSpawn: (p) => (pid = p) });
    assert.ok(pid > 0);
    assert.equal(r1.code, 1, r1.stdout + r1.stderr);
    assert.ok(Date.now() - t0 < 20_000);
    const out1 = r1.stdout + r1.stderr;
    const fails1 = out1.split('\n').filter((l) => l.includes('ship failed'));
    assert.equal(fails1.length, 1, `one line for the failure, not one per attempt:\n${out1}`);
    assert.match(fails1[0]!, new RegExp(`cannot ship to ${broker.saslSsl.replace(/\./g, '\\.')} \\(TLS, CA [^)]*, SASL scram-sha-256 as ${broker.user}\\)`));
    assert.match(fails1[0]!, /SASL scram-sha-256 authentication of user signwatch-it was refused/);
    assert.ok(!out1.includes(wrongPassword) && !out1.includes(broker.password), 'no password in the output');
    assert.doesNotMatch(out1, /"stack"/, 'no kafkajs stack traces at the default level');

    // untrusted CA: TLS with the system CAs only
    writeFileSync(sb.config, JSON.stringify(agentConfig(sb.dataDir, topic, broker.block({ caFile: null }))));
    const r2 = await cliAsync(['agent', 'run', '--once', '--timeout', '6'], sb.env);
    assert.equal(r2.code, 1, r2.stdout + r2.stderr);
    const out2 = r2.stdout + r2.stderr;
    const fails2 = out2.split('\n').filter((l) => l.includes('ship failed'));
    assert.equal(fails2.length, 1, out2);
    assert.match(fails2[0]!, /TLS: the broker's certificate is not trusted \(self[- ]signed certificate in certificate chain\); set kafka\.tls\.caFile/);
    assert.ok(!out2.includes(broker.password));
    assert.equal(spooled(sb.dataDir).filter((e) => e.type === 'codesign').length, 1, 'the event stays in the spool');
  } finally {
    sb.cleanup();
  }
});
