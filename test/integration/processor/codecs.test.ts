/**
 * Foreign producers against the real processor and broker (SIGNWATCH_INTEGRATION=1): every record-batch codec that
 * kcat (librdkafka) writes, a batch corrupted on the broker's disk, records as large as the broker accepts, and
 * events that are not keyed by region. Nothing here may stall a partition.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simulate, demoIncidents } from '../../../services/simulate/simulate.js';
import { DLQ_HEADERS } from '../../../services/processor/topology.js';
import { keyPartition } from '../../../services/platform/kafka.js';
import { keychainFailure } from '../../harness/processor-proc.js';
import { INTEGRATION, World, byKey, reference, sorted, transitionKey, until } from './harness.js';
import type { Transition } from '../../../services/engine/types.js';

const skip = INTEGRATION ? false : 'needs the real broker: SIGNWATCH_INTEGRATION=1 after `npm run kafka:start`';
const START = Date.parse('2026-11-20T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/** kcat -P: one line "key<TAB>value" per record (key "" = null key with -K), with codec `z`. Resolves on exit 0. */
function kcat(brokers: string[], topic: string, lines: readonly string[], z: string, extra: string[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', ['-P', '-b', brokers.join(','), '-t', topic, '-z', z, '-K', '\t', '-X', 'linger.ms=20', '-X', 'enable.idempotence=false', ...extra], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kcat -z ${z} exited ${code}: ${err}`))));
    child.stdin.end(lines.join('\n') + '\n');
  });
}

const regionOf = (line: string) => /"region":"([A-Z]{2})"/.exec(line)?.[1] ?? '';

function assertSameTransitions(got: Transition[], want: Transition[]): void {
  const dups = [...byKey(got, transitionKey)].filter(([, v]) => v.length > 1).map(([k]) => k);
  assert.deepEqual(dups, [], 'no transition is written twice');
  assert.deepEqual(sorted(got, transitionKey), sorted(want, transitionKey));
}

async function metricsText(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}
const metricSum = (text: string, name: string, labels = '') =>
  [...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\d+)$`, 'gm'))].filter((m) => m[1]!.includes(labels)).reduce((a, m) => a + Number(m[2]), 0);

// ── every codec: the same scenario, the same transitions ─────────────────────────────────────────────────────────
const scenario = [...simulate({ seed: 13, start: START, events: 12_000, ratePerSecond: 2, incidents: demoIncidents(START), duplicateRate: 0.01, lateRate: 0.01, malformedRate: 0 })];
const transitionsByCodec = new Map<string, string[]>();

for (const z of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
  const name =
    z === 'lz4'
      ? 'kcat -z lz4 (regression: an lz4 batch was KafkaJSNotImplemented, the consumer restarted forever): transitions == replay'
      : `kcat -z ${z}: the processor decodes every batch, transitions == replay`;
  void test(name, { skip, timeout: 120_000 }, async () => {
    // librdkafka's default partitioner (crc32) puts regions elsewhere than murmur2: the processor forwards them
    const w = new World({ partitions: 3, clock: 'event' });
    try {
      const ref = await reference(scenario);
      assert.ok(ref.transitions.some((t) => t.alert === 'codesign_keychain_failures' && t.state === 'firing'), 'the scenario pages HK');
      await w.createEventsTopic();
      await kcat(w.brokers, w.topics.events, scenario.map((l) => `${regionOf(l)}\t${l}`), z);
      const p = await w.startProcessor('p0');
      await w.waitCaughtUp();
      const got = await w.transitions();
      assertSameTransitions(got, ref.transitions);
      transitionsByCodec.set(z, sorted(got, transitionKey).map(transitionKey));
      const m = await metricsText(p.metricsPort);
      assert.equal(metricSum(m, 'signwatch_dead_lettered_total'), 0, 'nothing dead-lettered');
      assert.ok(metricSum(m, 'signwatch_events_rerouted_total') > 0, 'crc32-partitioned regions were forwarded to their murmur2 partition');
      assert.equal(metricSum(m, 'signwatch_events_in_total') + metricSum(m, 'signwatch_events_duplicate_total'), scenario.length, 'every record counted once');
      assert.doesNotMatch(w.logs(), /restarting the consumer|not implemented/i);
    } catch (e) {
      process.stderr.write(w.logs().slice(-4000));
      throw e;
    } finally {
      await w.cleanup();
    }
  });
}

void test('none/gzip/snappy/lz4/zstd producers give identical transitions', { skip }, () => {
  assert.equal(transitionsByCodec.size, 5, `every codec test ran: ${[...transitionsByCodec.keys()].join(', ')}`);
  const [first, ...rest] = [...transitionsByCodec.values()];
  for (const r of rest) assert.deepEqual(r, first);
});

// ── a corrupt batch ───────────────────────────────────────────────────────────────────────────────────────────────

/** log.dirs of the Kafka brokers running on this machine (from their server.properties, as scripts/kafka.sh starts them). */
function runningBrokerLogDirs(): string[] {
  const dirs: string[] = [];
  try {
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let cmd: string[];
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      } catch {
        continue;
      }
      const i = cmd.indexOf('kafka.Kafka');
      if (i < 0 || !cmd[i + 1]) continue;
      const m = /^log\.dirs=(.+)$/m.exec(readFileSync(cmd[i + 1]!, 'utf8'));
      if (m) dirs.push(...m[1]!.trim().split(','));
    }
  } catch {
    /* no /proc */
  }
  return dirs;
}

/** The broker's log dir of `topic`-0 (SIGNWATCH_KAFKA_DATA, the one scripts/kafka.sh uses for this checkout, or a running broker's). */
function partitionDir(topic: string): string {
  const roots = [process.env.SIGNWATCH_KAFKA_DATA, join(process.env.SIGNWATCH_KAFKA_HOME ?? join(REPO, '.cache/kafka'), 'data'), ...runningBrokerLogDirs()].filter((x): x is string => !!x);
  for (const r of roots) if (existsSync(join(r, `${topic}-0`))) return join(r, `${topic}-0`);
  throw new Error(`no log dir for ${topic}-0 under ${roots.join(', ')} (set SIGNWATCH_KAFKA_DATA to the broker's log.dirs)`);
}

/** Flip bytes inside the records of the batch that holds `offset`; returns that batch's first and last offsets. */
function corruptBatchAt(dir: string, offset: number): { first: number; last: number } {
  const seg = join(dir, readdirSync(dir).filter((f) => f.endsWith('.log')).sort()[0]!);
  const buf = readFileSync(seg);
  for (let pos = 0; pos + 61 <= buf.length; ) {
    const base = Number(buf.readBigInt64BE(pos));
    const length = buf.readInt32BE(pos + 8);
    const last = base + buf.readInt32BE(pos + 23);
    if (base <= offset && offset <= last) {
      const at = pos + 61 + Math.floor((length + 12 - 61) / 2);
      const fd = openSync(seg, 'r+');
      try {
        const b = Buffer.alloc(8);
        readSync(fd, b, 0, 8, at);
        for (let i = 0; i < 8; i++) b[i] = b[i]! ^ 0xa5;
        writeSync(fd, b, 0, 8, at);
      } finally {
        closeSync(fd);
      }
      return { first: base, last };
    }
    pos += 12 + length;
  }
  throw new Error(`no batch holds offset ${offset} in ${seg}`);
}

for (const codec of ['gzip', 'none'] as const) {
void test(`regression: a corrupt ${codec} batch (bytes flipped on the broker's disk) is dead-lettered as undecodable_batch, later records are processed`, { skip, timeout: 120_000 }, async () => {
  const w = new World({ partitions: 1, clock: 'event' });
  try {
    await w.createEventsTopic();
    const line = (e: Record<string, unknown>) => `${String(e.region)}\t${JSON.stringify(e)}`;
    const hk = (i: number) => keychainFailure('HK', iso(START + i * 60_000));
    const jp = (i: number) => keychainFailure('JP', iso(START + i * 60_000));
    // three kcat runs, three batches: two HK failures | three JP failures (corrupted) | one HK failure
    await kcat(w.brokers, w.topics.events, [line(hk(0)), line(hk(1))], codec);
    await kcat(w.brokers, w.topics.events, [line(jp(2)), line(jp(3)), line(jp(4))], codec);
    await kcat(w.brokers, w.topics.events, [line(hk(5))], codec);
    const bad = corruptBatchAt(partitionDir(w.topics.events), 2);
    assert.deepEqual(bad, { first: 2, last: 4 }, 'the JP batch');
    const p = await w.startProcessor('p0');
    await w.waitCaughtUp();
    const ts = await w.transitions();
    assert.deepEqual(
      ts.map((t) => `${t.alert}/${t.labels.region}/${t.state}@${t.at}`),
      [`codesign_keychain_failures/HK/firing@${iso(START + 5 * 60_000)}`],
      'the HK page fires from the records after the bad batch; the JP records in it are not processed',
    );
    const dlq = await w.drain(w.topics.dlq);
    assert.equal(dlq.length, 1, 'one dead letter for the batch');
    const d = dlq[0]!;
    assert.match(d.headers[DLQ_HEADERS.reason] ?? '', new RegExp(`^undecodable_batch: offsets 2\\.\\.4 \\(3 records, ${codec}\\)`));
    assert.equal(d.headers[DLQ_HEADERS.partition], '0');
    assert.equal(d.headers[DLQ_HEADERS.offset], '2');
    assert.equal(d.headers[DLQ_HEADERS.lastOffset], '4');
    const m = await metricsText(p.metricsPort);
    assert.equal(metricSum(m, 'signwatch_dead_lettered_total', 'reason="undecodable_batch"'), 1);
    assert.equal((w.logs().match(/undecodable record batch/g) ?? []).length, 1, 'logged once');
    assert.doesNotMatch(w.logs(), /restarting the consumer|consumer crashed/);
  } catch (e) {
    process.stderr.write(w.logs().slice(-4000));
    throw e;
  } finally {
    await w.cleanup();
  }
});
}

// ── large records ─────────────────────────────────────────────────────────────────────────────────────────────────

void test('regression: a 1,048,400-byte record is dead-lettered cut to the DLQ limit (signwatch-truncated, original length); the partition goes on', { skip, timeout: 120_000 }, async () => {
  const w = new World({ partitions: 1, clock: 'event' });
  try {
    await w.createEventsTopic();
    const p = await w.startProcessor('p0');
    const big = Buffer.alloc(1_048_400, 0x7b);
    await w.produceRaw([{ key: 'HK', value: big, headers: { 'producer-trace': 'abc123' } }]);
    await w.produceRaw([0, 1, 2].map((i) => ({ key: 'HK', value: JSON.stringify(keychainFailure('HK', iso(START + i * 60_000))) })));
    await w.waitCaughtUp();
    const ts = await w.transitions();
    assert.deepEqual(ts.map((t) => `${t.alert}/${t.labels.region}/${t.state}@${t.at}`), [`codesign_keychain_failures/HK/firing@${iso(START + 2 * 60_000)}`]);
    const dlq = await w.drain(w.topics.dlq);
    assert.equal(dlq.length, 1);
    const d = dlq[0]!;
    assert.match(d.headers[DLQ_HEADERS.reason] ?? '', /^oversized: 1048400 bytes/);
    assert.equal(d.headers[DLQ_HEADERS.truncated], 'true');
    assert.equal(d.headers[DLQ_HEADERS.originalLength], '1048400');
    assert.equal(d.headers['producer-trace'], 'abc123', 'the record\'s own headers are kept');
    assert.ok(d.value.length > 1_000_000 && d.value.length < 1_048_400, `as much of the value as fits: ${d.value.length}`);
    assert.equal(d.value, big.subarray(0, d.value.length).toString(), 'a prefix of the original bytes');
    const m = await metricsText(p.metricsPort);
    assert.equal(metricSum(m, 'signwatch_dead_lettered_total', 'reason="oversized"'), 1);
    assert.equal(metricSum(m, 'signwatch_partition_batch_failures'), 0, 'no batch failed');
    assert.doesNotMatch(w.logs(), /batch failed|restarting the consumer/);
  } catch (e) {
    process.stderr.write(w.logs().slice(-4000));
    throw e;
  } finally {
    await w.cleanup();
  }
});

void test('regression: four 300 KB records read in one batch are dead-lettered whole, in sends that fit', { skip, timeout: 120_000 }, async () => {
  const w = new World({ partitions: 1, clock: 'event' });
  try {
    await w.createEventsTopic();
    // produced before the processor starts: it fetches all four (and the failures after them) in one batch
    for (let i = 0; i < 4; i++) await w.produceRaw([{ key: 'HK', value: Buffer.alloc(300 * 1024, 0x61 + i) }]);
    await w.produceRaw([0, 1, 2].map((i) => ({ key: 'HK', value: JSON.stringify(keychainFailure('HK', iso(START + i * 60_000))) })));
    const p = await w.startProcessor('p0');
    await w.waitCaughtUp();
    const ts = await w.transitions();
    assert.deepEqual(ts.map((t) => `${t.alert}/${t.labels.region}/${t.state}@${t.at}`), [`codesign_keychain_failures/HK/firing@${iso(START + 2 * 60_000)}`]);
    const dlq = await w.drain(w.topics.dlq);
    assert.equal(dlq.length, 4);
    for (const [i, d] of dlq.entries()) {
      assert.equal(d.value.length, 300 * 1024, 'whole');
      assert.equal(d.value[0], String.fromCharCode(0x61 + i));
      assert.equal(d.headers[DLQ_HEADERS.truncated], undefined);
    }
    assert.deepEqual(dlq.map((d) => d.headers[DLQ_HEADERS.offset]), ['0', '1', '2', '3']);
    const m = await metricsText(p.metricsPort);
    assert.equal(metricSum(m, 'signwatch_partition_batch_failures'), 0, 'no batch failed');
    assert.doesNotMatch(w.logs(), /batch failed|restarting the consumer/);
  } catch (e) {
    process.stderr.write(w.logs().slice(-4000));
    throw e;
  } finally {
    await w.cleanup();
  }
});

// ── events in the wrong partition ─────────────────────────────────────────────────────────────────────────────────

void test('regression: null-key and wrong-key HK events are forwarded to the HK partition: the page fires at the same instant, once', { skip, timeout: 150_000 }, async () => {
  const partitions = 6;
  const home = keyPartition('HK', partitions);
  // the incident: three HK keychain failures, none keyed HK (two without a key, one keyed by another region)
  const lines = [0, 1, 2].map((i) => JSON.stringify(keychainFailure('HK', iso(START + i * 60_000))));
  const ref = await reference(lines);
  assert.equal(ref.transitions.length, 1);
  const w = new World({ partitions, clock: 'event' });
  const page = (t: Transition) => `${t.dedupKey} ${t.state}@${t.at} value=${t.value}`;
  try {
    await w.createEventsTopic();
    const producer = await w.getProducer();
    const others = [...Array(partitions).keys()].filter((p) => p !== home);
    const wrongKey = ['JP', 'US', 'KR', 'SG'].find((k) => keyPartition(k, partitions) !== home)!;
    const sends = [
      { key: null, partition: others[0]! },
      { key: null, partition: others[1]! },
      { key: wrongKey, partition: keyPartition(wrongKey, partitions) },
    ];
    for (const [i, s] of sends.entries()) await producer.send({ topic: w.topics.events, acks: -1, messages: [{ key: s.key, value: lines[i]!, partition: s.partition }] });
    const p = await w.startProcessor('p0');
    await w.waitCaughtUp();
    // the forwarded copies are in the events topic: wait for the HK partition to have processed them too
    await until('the forwarded events to be processed', async () => metricSum(await metricsText(p.metricsPort), 'signwatch_events_in_total', 'region="HK"') >= 3 || undefined, 30_000);
    await w.waitCaughtUp();
    const ts = await w.transitions();
    assert.deepEqual(ts.map(page), ref.transitions.map(page), 'the same page at the same instant as with correct keys');
    const m = await metricsText(p.metricsPort);
    assert.equal(metricSum(m, 'signwatch_events_rerouted_total', 'region="HK"'), 3, 'three forwarded');
    assert.equal(metricSum(m, 'signwatch_events_in_total', 'region="HK"'), 3, 'each event processed exactly once');
    assert.equal(metricSum(m, 'signwatch_dead_lettered_total'), 0);
    // a second member takes some partitions over and rebuilds them: nothing is forwarded or paged twice
    await w.startProcessor('p1');
    await until('the group to settle', async () => ((await fetch(`http://127.0.0.1:${p.metricsPort}/readyz`)).ok ? true : undefined), 30_000);
    await w.waitCaughtUp();
    assert.deepEqual((await w.transitions()).map(page), ref.transitions.map(page));
    const all = await w.drain(w.topics.events);
    assert.equal(all.length, 6, 'three produced + three forwarded, none twice');
    assert.ok(all.filter((r) => r.headers[DLQ_HEADERS.reroutedFrom]).every((r) => r.partition === home));
  } catch (e) {
    process.stderr.write(w.logs().slice(-4000));
    throw e;
  } finally {
    await w.cleanup();
  }
});
