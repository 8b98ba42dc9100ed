/**
 * `signwatch dlq export|replay` against the real broker: dead letters come out with their reason and source, and
 * a corrected event goes back into the events topic keyed by its region; still-bad lines are reported and skipped.
 */
import { Partitioners, testKafka } from '../../harness/kafka.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { T0, kcFail } from '../../unit/engine/helpers.js';
import { DLQ_HEADERS } from '../../../services/processor/topology.js';

const BROKERS = (process.env.SIGNWATCH_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const skip = process.env.SIGNWATCH_INTEGRATION === '1' ? false : 'needs the real broker: SIGNWATCH_INTEGRATION=1 after `npm run kafka:start`';
const bin = join(process.cwd(), 'bin', 'signwatch');
const sw = (args: string[], input?: string) => spawnSync(process.execPath, [bin, ...args], { input, encoding: 'utf8', timeout: 60_000 });

test('dlq export prints dead letters with reason and source; dlq replay re-drives the corrected ones', { skip, timeout: 120_000 }, async () => {
  const run = `dlqtest-${process.pid}-${Date.now()}`;
  const topics = { events: `${run}.events`, dlq: `${run}.dlq` };
  const dir = mkdtempSync(join(tmpdir(), 'sw-dlq-'));
  const cfgFile = join(dir, 'processor.yaml');
  writeFileSync(cfgFile, stringify({ kafka: { brokers: BROKERS }, topics: { events: { name: topics.events, partitions: 2 }, dlq: { name: topics.dlq } } }));
  const kafka = testKafka(BROKERS, 'dlq-test');
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: topics.events, numPartitions: 2 }, { topic: topics.dlq, numPartitions: 1 }] });
    const good = kcFail(T0, 'HK', 'mini-hk-03');
    const badRegion = JSON.stringify({ ...good, region: 'EU' });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const dl = (value: string, reason: string, offset: number) => ({
      key: 'EU',
      value,
      headers: { [DLQ_HEADERS.reason]: reason, [DLQ_HEADERS.topic]: topics.events, [DLQ_HEADERS.partition]: '1', [DLQ_HEADERS.offset]: String(offset), [DLQ_HEADERS.timestamp]: String(T0) },
    });
    await producer.send({ topic: topics.dlq, acks: -1, messages: [dl('not json', 'not JSON: Unexpected token', 7), dl(badRegion, 'schema: region: Invalid option', 8)] });
    await producer.disconnect();

    const ex = sw(['dlq', 'export', '--config', cfgFile, '--timeout', '20s']);
    assert.equal(ex.status, 0, ex.stderr);
    const recs = ex.stdout.trim().split('\n').map((l) => JSON.parse(l) as { reason: string; source: { topic: string; partition: number; offset: number }; dlq: { offset: number }; value: string });
    assert.equal(recs.length, 2);
    assert.deepEqual(recs.map((r) => [r.reason.split(':')[0], r.source.topic, r.source.partition, r.source.offset, r.dlq.offset]), [
      ['not JSON', topics.events, 1, 7, 0],
      ['schema', topics.events, 1, 8, 1],
    ]);
    assert.match(ex.stderr, /exported 2 dead letters/);

    // the operator fixes the region of the second record and leaves the first as it is
    const fixed = recs.map((r) => JSON.stringify({ ...r, value: r.value.replace('"region":"EU"', '"region":"HK"') })).join('\n') + '\n';
    const dry = sw(['dlq', 'replay', '--config', cfgFile, '--dry-run', '-'], fixed);
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stderr, /stdin:1: skipped: not JSON/);
    assert.match(dry.stderr, /read 2, invalid 1, valid 1 \(dry run/);

    const rp = sw(['dlq', 'replay', '--config', cfgFile, '-'], fixed);
    assert.equal(rp.status, 0, rp.stderr);
    assert.match(rp.stderr, /read 2, invalid 1, sent 1 to /);
    const offsets = await admin.fetchTopicOffsets(topics.events);
    assert.equal(offsets.reduce((n, o) => n + Number(o.high), 0), 1, 'exactly one event re-driven (the dry run sent nothing)');
    const consumer = kafka.consumer({ groupId: `${run}-check` });
    await consumer.connect();
    await consumer.subscribe({ topic: topics.events, fromBeginning: true });
    const got = await new Promise<{ key: string; value: string }>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no event on the events topic')), 30_000);
      void consumer.run({
        eachMessage: ({ message }) => {
          clearTimeout(t);
          resolve({ key: message.key!.toString(), value: message.value!.toString() });
          return Promise.resolve();
        },
      });
    });
    await consumer.disconnect();
    assert.equal(got.key, 'HK');
    assert.equal((JSON.parse(got.value) as { id: string; region: string }).region, 'HK');
    assert.equal((JSON.parse(got.value) as { id: string }).id, good.id, 'the original id is kept, so the processor dedups a re-send');

    assert.equal(sw(['dlq', 'explode']).status, 2);
    assert.equal(sw(['dlq', 'export', '--max', '0']).status, 2);
    assert.equal(sw(['dlq', 'replay']).status, 2);
    assert.equal(sw(['dlq', 'replay', join(dir, 'missing.ndjson')]).status, 1);
  } finally {
    await admin.deleteTopics({ topics: [topics.events, topics.dlq] }).catch(() => undefined);
    await admin.disconnect();
  }
});

// The processor writes the DLQ in transactions, so each partition ends with a commit (or abort) marker that no
// consumer ever receives. Export must stop at the end offsets it read at start, markers included: with a 10 min
// timeout, an export that waited for a record past the marker would not finish within this test's 3 min, and its
// summary would say "timed out before the end".
test('dlq export of a transactional DLQ stops at the end offsets read at start, not at its timeout', { skip, timeout: 180_000 }, async () => {
  const run = `dlqtx-${process.pid}-${Date.now()}`;
  const topics = { events: `${run}.events`, dlq: `${run}.dlq` };
  const dir = mkdtempSync(join(tmpdir(), 'sw-dlq-tx-'));
  const cfgFile = join(dir, 'processor.yaml');
  writeFileSync(cfgFile, stringify({ kafka: { brokers: BROKERS }, topics: { events: { name: topics.events, partitions: 2 }, dlq: { name: topics.dlq, partitions: 3 } } }));
  const kafka = testKafka(BROKERS, 'dlq-tx-test');
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: topics.dlq, numPartitions: 3 }] });
    const producer = kafka.producer({ transactionalId: `${run}-tx`, idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const dl = (partition: number, i: number) => ({ partition, key: 'EU', value: `bad ${partition}/${i}`, headers: { [DLQ_HEADERS.reason]: 'not JSON: x', [DLQ_HEADERS.topic]: topics.events } });
    // partition 0: two committed transactions; partition 1: one committed, then one aborted; partition 2: only aborted
    for (const [msgs, commit] of [[[dl(0, 1), dl(0, 2), dl(1, 1)], true], [[dl(0, 3)], true], [[dl(1, 2), dl(2, 1)], false]] as const) {
      const tx = await producer.transaction();
      await tx.send({ topic: topics.dlq, acks: -1, messages: [...msgs] });
      await (commit ? tx.commit() : tx.abort());
    }
    await producer.disconnect();
    // the coordinator writes the commit/abort markers after EndTxn has answered, and the offsets admin reads are the
    // last stable ones (read_committed): wait until every marker is there: 0: 3 records + 2 commits, 1: 2 records + a
    // commit + an abort, 2: 1 record + an abort
    const want = { 0: 5, 1: 4, 2: 2 };
    let ends = await admin.fetchTopicOffsets(topics.dlq);
    for (const until = Date.now() + 60_000; !ends.every((o) => Number(o.high) === want[o.partition as 0 | 1 | 2]) && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 100));
      ends = await admin.fetchTopicOffsets(topics.dlq);
    }
    assert.ok(ends.every((o) => Number(o.high) === want[o.partition as 0 | 1 | 2]), `every partition ends with a marker: ${JSON.stringify(ends)}`);

    const ex = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, 'dlq', 'export', '--config', cfgFile, '--timeout', '10m'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(ex.code, 0, ex.stderr);
    const values = ex.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { value: string }).value).sort();
    assert.deepEqual(values, ['bad 0/1', 'bad 0/2', 'bad 0/3', 'bad 1/1'], 'the committed dead letters, not the aborted ones');
    assert.match(ex.stderr, /exported 4 dead letters/);
    assert.doesNotMatch(ex.stderr, /timed out/);
  } finally {
    await admin.deleteTopics({ topics: [topics.dlq] }).catch(() => undefined);
    await admin.disconnect();
  }
});
