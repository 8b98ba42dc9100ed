/**
 * `signwatch processor` against the real Kafka broker (scripts/kafka.sh start; SIGNWATCH_INTEGRATION=1).
 * Reference output: the engine `signwatch replay` runs, over the same lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { parseEventFast } from '../../../schemas/validate.js';
import { openStore } from '../../../services/query/open-store.js';
import { DLQ_HEADERS } from '../../../services/processor/topology.js';
import { INTEGRATION, PrivateBroker, World, assertNoDuplicates, assertSameHourly, assertSameTransitions, reference, sleep, sorted, stream, transitionKey, until } from './harness.js';

const skip = INTEGRATION ? false : 'needs the real broker: SIGNWATCH_INTEGRATION=1 after `npm run kafka:start`';

void test('alert topic == replay; hourly topic == replay; bad lines dead-lettered with reason and source; every valid event stored once', { skip, timeout: 120_000 }, async () => {
  const extra: Record<string, unknown> = {};
  const w = new World({ partitions: 3, clock: 'event', extra });
  const dbPath = join(w.dir, 'events.db');
  extra.store = { enabled: true, spec: `sqlite:${dbPath}` };
  try {
    const lines = stream(30_000);
    const ref = await reference(lines);
    await w.createEventsTopic();
    await w.produceLines(lines);
    const poison = [
      { key: 'HK', value: '{"v":1,"truncated' },
      { key: 'HK', value: JSON.stringify({ v: 1, id: 'nope', type: 'codesign' }) },
      { key: 'JP', value: 'x'.repeat(70 * 1024) },
      { key: 'SG', value: null },
    ];
    await w.produceRaw(poison);
    const p0 = await w.startProcessor('p0');
    await w.waitCaughtUp();
    // every good record is counted (in + duplicate), every bad one as invalid and dead-lettered
    const m0 = await (await fetch(`http://127.0.0.1:${p0.metricsPort}/metrics`)).text();
    const total = (name: string) => [...m0.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'gm'))].reduce((a, x) => a + Number(x[1]), 0);
    const valid = lines.length - ref.invalid;
    assert.equal(total('signwatch_events_in_total') + total('signwatch_events_duplicate_total'), valid, 'every good record counted');
    assert.equal(total('signwatch_events_invalid_total'), ref.invalid + poison.length);
    assert.equal(total('signwatch_dead_lettered_total'), ref.invalid + poison.length);
    assertSameTransitions(await w.transitions(), ref.transitions);
    assertSameHourly(await w.hourlies(), ref.hourly);

    const dlq = await w.drain(w.topics.dlq);
    const malformed = ref.invalid;
    assert.ok(malformed > 0, 'the stream has malformed lines');
    const reasons = dlq.map((d) => d.headers[DLQ_HEADERS.reason] ?? '');
    assert.equal(dlq.length, malformed + poison.length, 'every bad record is dead-lettered once');
    assert.ok(reasons.every((r) => /^(oversized|not JSON|schema|empty)/.test(r)), `reasons: ${[...new Set(reasons.map((r) => r.split(':')[0]))].join(', ')}`);
    for (const d of dlq) {
      assert.equal(d.headers[DLQ_HEADERS.topic], w.topics.events);
      assert.match(d.headers[DLQ_HEADERS.partition] ?? '', /^\d+$/);
      assert.match(d.headers[DLQ_HEADERS.offset] ?? '', /^\d+$/);
    }
    assert.ok(reasons.some((r) => r.startsWith('oversized')));
    assert.ok(reasons.some((r) => r.startsWith('empty')));
    const big = dlq.find((d) => d.headers[DLQ_HEADERS.reason]?.startsWith('oversized'));
    assert.equal(big?.value.length, 70 * 1024, 'the original bytes are kept');

    // the event store holds every valid event exactly once (ids unique), none of the bad ones
    const ids = new Set<string>();
    for (const l of lines) {
      const r = parseEventFast(l);
      if (r.ok) ids.add(r.event.id);
    }
    const db = await openStore(`sqlite:${dbPath}`, { mustExist: true });
    try {
      assert.equal((await db.stats()).events, ids.size);
    } finally {
      await db.close();
    }

    // /metrics: counters and exact per-region gauges
    const proc = await w.startProcessor('p1'); // a second member: joins, gets some partitions, rebuilds them
    const text = await until('metrics', async () => {
      const r = await fetch(`http://127.0.0.1:${proc.metricsPort}/metrics`);
      const t = await r.text();
      return t.includes('signwatch_keychain_failures_in_window') ? t : undefined;
    }, 60_000);
    assert.match(text, /signwatch_keychain_failures_in_window\{region="[A-Z]{2}"\} \d+/);
    const ready = await until('readyz', async () => ((await fetch(`http://127.0.0.1:${proc.metricsPort}/readyz`)).ok ? true : undefined), 60_000);
    assert.equal(ready, true);
    await sleep(500);
    // the second member re-read its partitions: still no duplicates on the alert topic
    await w.waitCaughtUp();
    assertSameTransitions(await w.transitions(), ref.transitions);
  } catch (e) {
    process.stderr.write(w.logs().slice(-5000));
    throw e;
  } finally {
    await w.cleanup();
  }
});

/** Produce `lines` in chunks with pauses, so that kills land in the middle of the stream. */
async function produceSlowly(w: World, lines: string[], chunks: number, pauseMs: number): Promise<void> {
  const size = Math.ceil(lines.length / chunks);
  for (let i = 0; i < lines.length; i += size) {
    await w.produceLines(lines.slice(i, i + size));
    await sleep(pauseMs);
  }
}

void test('kill -9 at random moments + restart: same transitions and hourly aggregates as replay, no duplicate, store complete', { skip, timeout: 180_000 }, async () => {
  const extra: Record<string, unknown> = {};
  const w = new World({ partitions: 3, clock: 'event', extra });
  const dbPath = join(w.dir, 'events.db');
  extra.store = { enabled: true, spec: `sqlite:${dbPath}` };
  const kills: number[] = [];
  try {
    const lines = stream(30_000, 11);
    const ref = await reference(lines);
    await w.createEventsTopic();
    let proc = await w.startProcessor('p0');
    const producing = produceSlowly(w, lines, 30, 120);
    // the first kill lands after something was committed (so the restart must rebuild), the others anywhere
    const admin = await w.getAdmin();
    await until('a first commit', async () => {
      const c = await admin.fetchOffsets({ groupId: w.groupId, topics: [w.topics.events] });
      return c[0]?.partitions.some((p) => Number(p.offset) > 0) ? true : undefined;
    }, 30_000, 50);
    for (let k = 0; k < 3; k++) {
      const delay = (k === 0 ? 0 : 200) + Math.floor(Math.random() * 1500);
      kills.push(delay);
      await sleep(delay);
      await proc.kill9();
      proc = await w.startProcessor('p0');
    }
    await producing;
    await w.waitCaughtUp(90_000);
    assertSameTransitions(await w.transitions(), ref.transitions);
    assertSameHourly(await w.hourlies(), ref.hourly);
    const log = w.logs();
    assert.ok(/rebuilding state/.test(log), 'a restarted processor rebuilt state from the log');
    const ids = new Set(lines.map((l) => parseEventFast(l)).flatMap((r) => (r.ok ? [r.event.id] : [])));
    await w.waitGroupCaughtUp(`${w.groupId}.store`); // the store writer reads the events topic in its own group
    const db = await openStore(`sqlite:${dbPath}`, { mustExist: true });
    try {
      assert.equal((await db.stats()).events, ids.size, 'every valid event stored, once');
    } finally {
      await db.close();
    }
  } catch (e) {
    process.stderr.write(`kill delays (ms after each start): ${kills.join(', ')}\n${w.logs().slice(-4000)}\n`);
    throw e;
  } finally {
    await w.cleanup();
  }
});

void test('two instances in one group, then one killed: the other takes over, same transitions, no duplicate', { skip, timeout: 180_000 }, async () => {
  const w = new World({ partitions: 4, clock: 'event' });
  try {
    const lines = stream(30_000, 23);
    const ref = await reference(lines);
    await w.createEventsTopic();
    await w.startProcessor('a');
    const b = await w.startProcessor('b');
    const producing = produceSlowly(w, lines, 20, 150);
    await sleep(1200);
    await b.kill9();
    await producing;
    await w.waitCaughtUp(90_000);
    assertSameTransitions(await w.transitions(), ref.transitions);
    assertSameHourly(await w.hourlies(), ref.hourly);
  } catch (e) {
    process.stderr.write(w.logs().slice(-4000));
    throw e;
  } finally {
    await w.cleanup();
  }
});

void test('broker stopped and restarted: the processor reconnects by itself and catches up', { skip, timeout: 240_000 }, async () => {
  const broker = new PrivateBroker();
  let w: World | undefined;
  try {
    await broker.start();
    w = new World({ partitions: 2, clock: 'event', brokers: broker.brokers });
    const lines = stream(20_000, 5);
    const ref = await reference(lines);
    const half = Math.floor(lines.length / 2);
    await w.createEventsTopic();
    await w.produceLines(lines.slice(0, half));
    await w.startProcessor('main');
    await w.waitCaughtUp(60_000);
    await broker.stop();
    await sleep(3000);
    await broker.start();
    await w.produceLines(lines.slice(half));
    await w.waitCaughtUp(150_000);
    assertSameTransitions(await w.transitions(), ref.transitions);
    assertSameHourly(await w.hourlies(), ref.hourly);
    // restarts (if the outage outlasted kafkajs' retries) back off: attempts count up, never reset by a group join
    const logs = w.logs();
    assert.doesNotMatch(logs, /consumer#run must be called first/, 'no seek before run');
    // the events consumer's restarts (the fleet processor beside it logs its own, with "component":"fleet")
    const mainLogs = logs.split('\n').filter((l) => !l.includes('"component":"fleet"')).join('\n');
    const attempts = [...mainLogs.matchAll(/"attempt":(\d+)[^\n]*restarting the consumer/g)].map((m) => Number(m[1]));
    assert.deepEqual(attempts, attempts.map((_, i) => i + 1), `restart attempts: ${attempts.join(', ')}`);
  } catch (e) {
    process.stderr.write(w?.logs().slice(-4000) ?? '');
    throw e;
  } finally {
    await w?.cleanup();
    await broker.destroy();
  }
});

void test('wall clock: a quiet region resolves by itself, also across a kill -9 between firing and resolving (no duplicate)', { skip, timeout: 120_000 }, async () => {
  const extra: Record<string, unknown> = { tickInterval: 200, clockDelay: 3000 };
  const w = new World({ partitions: 2, clock: 'wall', extra });
  extra.policy = join(w.dir, 'policy.yaml');
  writeFileSync(extra.policy as string, 'alerts:\n  codesign_keychain_failures:\n    window: 12s\n');
  try {
    await w.createEventsTopic();
    let proc = await w.startProcessor('p0');
    const now = Date.now();
    const lines = [now - 1000, now - 500, now].map((t) => keychainFailureLine('JP', t));
    await w.produceLines(lines);
    const firing = await until('firing', async () => {
      const ts = await w.transitions();
      return ts.length >= 1 ? ts : undefined;
    }, 20_000, 200);
    assert.equal(firing[0]!.state, 'firing');
    assert.equal(firing[0]!.at, new Date(now).toISOString(), 'fires at the third failure\'s own time');
    await proc.kill9();
    proc = await w.startProcessor('p0');
    const all = await until('resolved', async () => {
      const ts = await w.transitions();
      return ts.some((t) => t.state === 'resolved') ? ts : undefined;
    }, 40_000, 300);
    await sleep(1500);
    const final = await w.transitions();
    assert.deepEqual(final.map((t) => `${t.state}@${t.at}`), [`firing@${new Date(now).toISOString()}`, `resolved@${new Date(now - 1000 + 12_000).toISOString()}`]);
    assert.equal(all.length, 2);
  } catch (e) {
    process.stderr.write(w.logs().slice(-4000));
    throw e;
  } finally {
    await w.cleanup();
  }
});

function keychainFailureLine(region: string, ms: number): string {
  return JSON.stringify({
    v: 1, id: ulid(ms), ts: new Date(ms).toISOString(), type: 'codesign', host: `mini-${region.toLowerCase()}-01`, region, pool: 'signing', agent: 'test',
    correlationId: 'ci-wall', tool: 'codesign', outcome: 'fail', durationMs: 200, exitCode: 1, keychain: '/Users/ci/Library/Keychains/signing.keychain-db',
    partitionIds: ['apple:'], invocationId: ulid(ms), error: { code: 'errSecInternalComponent', osStatus: -2070, class: 'keychain', message: 'errSecInternalComponent' },
  });
}

void test('SASL/PLAIN on a real broker listener: the processor authenticates with a password from a file; a wrong one fails start-up (exit 1)', { skip, timeout: 120_000 }, async () => {
  const PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;
  const broker = new PrivateBroker((p) =>
    [
      `listeners=PLAINTEXT://127.0.0.1:${p},CONTROLLER://127.0.0.1:${p + 1},SASL_PLAINTEXT://127.0.0.1:${p + 2}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${p},SASL_PLAINTEXT://127.0.0.1:${p + 2}`,
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
      'sasl.enabled.mechanisms=PLAIN',
      'listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN',
      `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_signwatch="${PASSWORD}";`,
      '',
    ].join('\n'),
  );
  let w: World | undefined;
  try {
    await broker.start();
    const saslBrokers = [`127.0.0.1:${broker.port + 2}`];
    const extra: Record<string, unknown> = {};
    // the test produces on the plaintext listener; the processor only talks SASL
    w = new World({ partitions: 2, clock: 'event', brokers: broker.brokers, extra });
    const pwFile = join(w.dir, 'kafka-password');
    writeFileSync(pwFile, `${PASSWORD}\n`, { mode: 0o600 });
    extra.kafka = { brokers: saslBrokers, clientId: 'it-sasl', sasl: { mechanism: 'plain', username: 'signwatch', passwordFile: pwFile } };
    const lines = stream(6000, 9);
    const ref = await reference(lines);
    await w.createEventsTopic();
    await w.produceLines(lines);
    await w.startProcessor('main');
    await w.waitCaughtUp(60_000);
    const got = await w.transitions();
    assertNoDuplicates(got);
    assert.deepEqual(sorted(got, transitionKey), sorted(ref.transitions, transitionKey));
    assert.ok(!w.logs().includes(PASSWORD), 'the password never reaches the logs');

    // wrong password: start-up fails with a runtime error (exit 1), not a hang
    writeFileSync(pwFile, 'wrong\n');
    const { spawnSync } = await import('node:child_process');
    const cfg = w.writeConfig('wrong');
    const r = spawnSync(process.execPath, [new URL('../../../services/cli/main.js', import.meta.url).pathname, 'processor', '--config', cfg], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1, r.stderr.slice(-2000));
    assert.match(r.stderr, /SASL|[Aa]uthenticat/);
  } catch (e) {
    process.stderr.write(w?.logs().slice(-4000) ?? '');
    throw e;
  } finally {
    await w?.cleanup();
    await broker.destroy();
  }
});
