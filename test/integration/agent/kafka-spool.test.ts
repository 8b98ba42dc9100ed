/**
 * Delivery through the real broker (scripts/kafka.sh, 127.0.0.1:9092): the broker is unreachable while 10 000
 * events are produced (10 000 spool appends from a separate writer process + real `agent exec` calls), the daemon
 * is killed with -9 twice (once while the broker is down, once in the middle of shipping), and once the broker is
 * back every event id arrives in Kafka (duplicates allowed: the processor dedups by id), keyed by region.
 *
 * "Broker down" is the daemon pointed at a closed local port: the shared broker other suites use is never stopped.
 */
import { testKafka } from '../../harness/kafka.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { entryCount } from '../../../services/agent/spool/spool.js';
import { BIN, cli, ROOT, sandbox } from '../../unit/agent/helpers.js';
import { freePort } from '../../harness/net.js';

const BROKER = process.env.SIGNWATCH_KAFKA_BROKER ?? '127.0.0.1:9092';


function startDaemon(env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [BIN, 'agent', 'run'], { env, stdio: 'ignore' });
}

async function kill9(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const closed = new Promise((r) => p.once('close', r));
  p.kill('SIGKILL');
  await closed;
}

function entries(dataDir: string): string[] {
  try {
    return readdirSync(join(dataDir, 'spool', 'q')).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
}

/** Events waiting in the spool (an entry `<id>.<n>.json` holds n). */
function depth(dataDir: string): number {
  return entries(dataDir).reduce((a, n) => a + entryCount(n), 0);
}

function spooledIds(dataDir: string): string[] {
  const q = join(dataDir, 'spool', 'q');
  return entries(dataDir).flatMap((n) => {
    try {
      return readFileSync(join(q, n), 'utf8').split('\n').filter((l) => l).map((l) => (JSON.parse(l) as { id: string }).id);
    } catch {
      return [];
    }
  });
}

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

void test('broker down, 10 000 events, kill -9 twice, broker back: every event id arrives', { timeout: 240_000 }, async () => {
  const topic = `events.v1.agent-it-${ulid().toLowerCase()}`;
  const kafka = testKafka([BROKER], 'agent-it');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
  const sb = sandbox();
  const daemons: ChildProcess[] = [];
  const consumer = kafka.consumer({ groupId: `agent-it-${ulid()}` });
  try {
    const down = await freePort();
    const cfg = (broker: string) => writeFileSync(sb.config, JSON.stringify({ region: 'SG', host: 'mini-sg-07', dataDir: sb.dataDir, kafka: { brokers: [broker], topic }, intervals: { shipMs: 100, heartbeatSec: 3600, scanSec: 3600, clockSec: 3600 } }));
    cfg(`127.0.0.1:${down}`);

    // 1. broker unreachable: daemon A runs, 10 000 events are produced; kill -9 A in the middle
    daemons.push(startDaemon(sb.env));
    // four concurrent writer processes, 2 500 events each: 500 single appends (as the wrapper does) and 2 000 in
    // entries of 100 (as the scanner does); every append is fsync'd before the next one
    const writerCode = (tag: number) => `
      const { Spool } = await import(${JSON.stringify(join(ROOT, 'dist/services/agent/spool/spool.js'))});
      const { newId } = await import(${JSON.stringify(join(ROOT, 'dist/services/agent/events.js'))});
      const s = new Spool({ dir: ${JSON.stringify(join(sb.dataDir, 'spool'))}, maxEvents: 100000 });
      const ev = (i) => { const id = newId(); return { id, line: JSON.stringify({ v: 1, id, ts: new Date().toISOString(), type: 'unlock', host: 'mini-sg-07', region: 'SG', pool: 'signing', agent: '0.1.0', outcome: 'ok', durationMs: (i * 7 + ${tag}) % 900, keychain: '/Users/ci/signing.keychain-db' }) }; };
      for (let b = 0; b < 25; b++) {
        for (let i = 0; i < 20; i++) { const e = ev(i); s.append(e.id, e.line); }
        if (b < 20) s.appendBatch(Array.from({ length: 100 }, (_, i) => ev(i)));
      }`;
    const writers = [0, 1, 2, 3].map((t) => spawn(process.execPath, ['--input-type=module', '-e', writerCode(t)], { stdio: 'inherit' }));
    const writersDone = Promise.all(writers.map((w) => new Promise<number | null>((r) => w.on('close', r))));
    for (let i = 0; i < 10; i++) {
      const r = cli(['agent', 'exec', '--', 'codesign', '-s', 'X', 'a.app'], { ...sb.env, FAKE_CODESIGN: 'codesign-errSecInternalComponent__replacing-existing' });
      assert.equal(r.status, 1);
    }
    await until('3 000 spooled events', () => depth(sb.dataDir) >= 3000, 120_000);
    await kill9(daemons[0] as ChildProcess); // kill -9 #1 (broker down)
    daemons.push(startDaemon(sb.env));
    assert.deepEqual(await writersDone, [0, 0, 0, 0]);
    await new Promise((r) => setTimeout(r, 500));
    await kill9(daemons[1] as ChildProcess);
    const expected = new Set(spooledIds(sb.dataDir));
    assert.ok(expected.size >= 10_010, `everything still spooled while the broker is down (${expected.size})`);

    // 2. broker back: daemon C ships; kill -9 C in the middle of shipping; daemon D finishes
    cfg(BROKER);
    daemons.push(startDaemon(sb.env));
    await until('shipping to start', () => depth(sb.dataDir) < expected.size - 1000, 60_000);
    await kill9(daemons[2] as ChildProcess); // kill -9 #2 (mid-shipping)
    assert.ok(depth(sb.dataDir) > 0, 'killed before the spool was empty');
    daemons.push(startDaemon(sb.env));
    await until('the spool to empty', () => depth(sb.dataDir) === 0, 120_000);

    // 3. every id is in the topic, keyed by region
    const seen = new Map<string, number>();
    const keys = new Set<string>();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        const id = (JSON.parse(message.value?.toString() ?? '{}') as { id: string }).id;
        seen.set(id, (seen.get(id) ?? 0) + 1);
        keys.add(message.key?.toString() ?? '');
        return Promise.resolve();
      },
    });
    await until('every id in Kafka', () => [...expected].every((id) => seen.has(id)), 90_000);
    const missing = [...expected].filter((id) => !seen.has(id));
    assert.deepEqual(missing, []);
    assert.deepEqual([...keys], ['SG']);
    const dups = [...seen.values()].filter((c) => c > 1).length;
    console.log(`# agent kafka: ${expected.size} expected, ${seen.size} distinct received, ${dups} duplicated ids`);
  } finally {
    for (const d of daemons) await kill9(d);
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    sb.cleanup();
  }
});

void test('default topic events.v1: created if missing; an exec event arrives keyed by region', { timeout: 60_000 }, async () => {
  const kafka = testKafka([BROKER], 'agent-it');
  const admin = kafka.admin();
  await admin.connect();
  const sb = sandbox();
  const consumer = kafka.consumer({ groupId: `agent-it-${ulid()}` });
  try {
    if (!(await admin.listTopics()).includes('events.v1')) {
      await admin.createTopics({ topics: [{ topic: 'events.v1', numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true }).catch(() => undefined);
    }
    const before = await admin.fetchTopicOffsets('events.v1');
    writeFileSync(sb.config, JSON.stringify({ region: 'KR', host: 'mini-kr-02', dataDir: sb.dataDir }));
    assert.equal(cli(['agent', 'exec', '--', 'codesign', '-s', 'X', 'a.app'], { ...sb.env, FAKE_CODESIGN: 'codesign-no-identity-found' }).status, 1);
    const [id] = spooledIds(sb.dataDir);
    const r = cli(['agent', 'run', '--once', '--timeout', '30'], sb.env);
    assert.equal(r.status, 0, r.stderr.toString());
    let found: { key: string; type: string } | undefined;
    await consumer.connect();
    await consumer.subscribe({ topic: 'events.v1', fromBeginning: false });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const p of before) consumer.seek({ topic: 'events.v1', partition: p.partition, offset: p.offset });
    });
    await consumer.run({
      eachMessage: ({ message }) => {
        const ev = JSON.parse(message.value?.toString() ?? '{}') as { id: string; type: string };
        if (ev.id === id) found = { key: message.key?.toString() ?? '', type: ev.type };
        return Promise.resolve();
      },
    });
    await until('the event in events.v1', () => found !== undefined, 30_000);
    assert.deepEqual(found, { key: 'KR', type: 'codesign' });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.disconnect();
    sb.cleanup();
  }
});
