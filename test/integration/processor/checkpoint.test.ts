/**
 * Bounded recovery against the real broker (SIGNWATCH_INTEGRATION=1): a processor killed after checkpoints
 * restarts from the latest one and re-reads only what follows, with output identical to replay; an unusable
 * checkpoint falls back to the rebuild from the log, said in the log, with the same output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigResourceTypes } from '../../../services/platform/kafka.js';
import { INTEGRATION, World, assertSameHourly, assertSameTransitions, reference, sleep, stream, until } from './harness.js';

const skip = INTEGRATION ? false : 'needs the real broker: SIGNWATCH_INTEGRATION=1 after `npm run kafka:start`';

/** The log lines of one process (its pid). */
const linesOf = (log: string, pid: number | undefined) => log.split('\n').filter((l) => l.includes(`"pid":${pid},`)).join('\n');

/** The `records` the last assignment of each partition re-read, from the "partition assigned" lines after `from`. */
function reread(log: string): { checkpoint: number | null; records: number }[] {
  return [...log.matchAll(/\{[^\n]*"msg":"partition assigned[^\n]*\}/g)].map((m) => {
    const o = JSON.parse(m[0]) as { checkpoint: number | null; records: number };
    return { checkpoint: o.checkpoint, records: o.records };
  });
}

void test('kill -9 after checkpoints: the restart loads the latest one, re-reads only what follows, and writes what replay writes', { skip, timeout: 240_000 }, async () => {
  const w = new World({ partitions: 3, clock: 'event', extra: { checkpoint: { batches: 2, interval: '500ms' } } });
  try {
    const lines = stream(30_000, 31);
    const ref = await reference(lines);
    await w.createEventsTopic();
    let proc = await w.startProcessor('p0');
    const half = Math.floor(lines.length / 2);
    await w.produceLines(lines.slice(0, half));
    await w.waitCaughtUp(90_000);
    // a checkpoint of every partition is committed once the metadata of each committed offset points at one
    const admin = await w.getAdmin();
    await until(
      'a checkpoint of every partition',
      async () => {
        const c = await admin.fetchOffsets({ groupId: w.groupId, topics: [w.topics.events] });
        return c[0]?.partitions.every((p) => /"cp":\{"o":\d+/.test(p.metadata ?? '')) ? true : undefined;
      },
      60_000,
      200,
    );
    await proc.kill9();
    proc = await w.startProcessor('p1');
    await until('ready after the restart', async () => ((await fetch(`http://127.0.0.1:${proc.metricsPort}/readyz`)).ok ? true : undefined), 60_000, 100);
    const restart = linesOf(w.logs(), proc.child.pid);
    assert.match(restart, /"msg":"checkpoint loaded"/, 'the restart loaded a checkpoint');
    const assigned = reread(restart);
    assert.ok(assigned.length >= 3, `every partition was assigned: ${JSON.stringify(assigned)}`);
    for (const a of assigned) assert.notEqual(a.checkpoint, null, `restored from a checkpoint, not rebuilt: ${JSON.stringify(assigned)}`);
    // the rest of the stream, with a kill in the middle of it
    const producing = w.produceLines(lines.slice(half), 300);
    await sleep(800);
    await proc.kill9();
    await producing;
    proc = await w.startProcessor('p2');
    await w.waitCaughtUp(120_000);
    assertSameTransitions(await w.transitions(), ref.transitions);
    assertSameHourly(await w.hourlies(), ref.hourly);
  } catch (e) {
    process.stderr.write(w.logs().slice(-5000));
    throw e;
  } finally {
    await w.cleanup();
  }
});

void test('an unusable checkpoint (its records deleted) falls back to the rebuild from the log, logged, same output as replay', { skip, timeout: 240_000 }, async () => {
  const w = new World({ partitions: 2, clock: 'event', extra: { checkpoint: { batches: 1, interval: '200ms', loadTimeout: '3s' } } });
  try {
    const lines = stream(20_000, 5);
    const ref = await reference(lines);
    await w.createEventsTopic();
    let proc = await w.startProcessor('p0');
    const half = Math.floor(lines.length / 2);
    await w.produceLines(lines.slice(0, half));
    await w.waitCaughtUp(90_000);
    const admin = await w.getAdmin();
    await until(
      'a checkpoint of every partition',
      async () => {
        const c = await admin.fetchOffsets({ groupId: w.groupId, topics: [w.topics.events] });
        return c[0]?.partitions.every((p) => /"cp":\{"o":\d+/.test(p.metadata ?? '')) ? true : undefined;
      },
      60_000,
      200,
    );
    await proc.stop();
    // the checkpoints' records are gone (as if retention or an operator had deleted them; DeleteRecords needs the
    // delete policy beside compaction)
    // (the events partitions' checkpoints and the fleet processor's)
    for (const topic of [w.topics.state, w.topics.fleetState]) {
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'cleanup.policy', value: 'compact,delete' }] }] });
      const ends = await admin.fetchTopicOffsets(topic);
      await admin.deleteTopicRecords({ topic, partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })) });
    }
    proc = await w.startProcessor('p1');
    await w.produceLines(lines.slice(half));
    await w.waitCaughtUp(120_000);
    const restart = linesOf(w.logs(), proc.child.pid);
    assert.match(restart, /checkpoint unusable: [^"]*; rebuilding from the log/, 'the fallback is logged with its reason');
    assert.doesNotMatch(restart, /"msg":"checkpoint loaded"/);
    const assigned = reread(restart);
    assert.ok(assigned.length >= 2 && assigned.every((a) => a.checkpoint === null), `rebuilt: ${JSON.stringify(assigned)}`);
    assertSameTransitions(await w.transitions(), ref.transitions);
    assertSameHourly(await w.hourlies(), ref.hourly);
  } catch (e) {
    process.stderr.write(w.logs().slice(-5000));
    throw e;
  } finally {
    await w.cleanup();
  }
});
