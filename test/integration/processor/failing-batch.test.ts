/**
 * A batch that keeps failing (SIGNWATCH_INTEGRATION=1, real broker): only its partition is retried, with backoff,
 * reported on /metrics and in the log with its offset; the other partitions go on; once the cause is gone the
 * partition commits and the report goes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigResourceTypes, keyPartition } from '../../../services/platform/kafka.js';
import { keychainFailure, unlockOk } from '../../harness/processor-proc.js';
import { INTEGRATION, World, until } from './harness.js';

const skip = INTEGRATION ? false : 'needs the real broker: SIGNWATCH_INTEGRATION=1 after `npm run kafka:start`';
const START = Date.parse('2026-11-20T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

void test('a batch whose transition the alert topic refuses: its partition backs off, is reported with the offset, the other partition goes on, and it recovers', { skip, timeout: 150_000 }, async () => {
  const w = new World({ partitions: 2, clock: 'event' });
  const failing = keyPartition('HK', 2);
  const other = ['JP', 'US', 'KR', 'SG'].find((r) => keyPartition(r, 2) !== failing)!;
  try {
    await w.createEventsTopic();
    const admin = await w.getAdmin();
    // the alert topic accepts no record as large as a transition
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: w.topics.alerts, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '300' }] }] });
    await w.produceRaw([0, 1, 2].map((i) => ({ key: 'HK', value: JSON.stringify(keychainFailure('HK', iso(START + i * 60_000))) })));
    const p = await w.startProcessor('p0');
    const metric = async () => {
      const text = await (await fetch(`http://127.0.0.1:${p.metricsPort}/metrics`)).text();
      const m = new RegExp(`^signwatch_partition_batch_failures\\{[^}]*partition="${failing}"[^}]*\\} (\\d+)$`, 'm').exec(text);
      const offset = /^signwatch_partition_batch_failures\{[^}]*offset="(\d+)"/m.exec(text)?.[1];
      return { failures: m ? Number(m[1]) : 0, offset };
    };
    const stuck = await until('the partition to be reported stuck', async () => ((await metric()).failures >= 3 ? metric() : undefined), 60_000);
    assert.equal(stuck.offset, '0', 'the offset of the batch that keeps failing');
    assert.match(w.logs(), /partition stuck: the batch at offset 0 failed 3 times in a row/);
    // backoff: the retry delays grow
    const delays = [...w.logs().matchAll(/"delayMs":(\d+)[^\n]*batch failed/g)].map((m) => Number(m[1]));
    assert.ok(delays.length >= 3 && delays[2]! > delays[0]!, `growing delays: ${delays.join(', ')}`);
    assert.doesNotMatch(w.logs(), /restarting the consumer/, 'the consumer itself is never restarted');
    // meanwhile the other partition is processed and committed
    await w.produceRaw([{ key: other, value: JSON.stringify(unlockOk(other, iso(START))) }]);
    await until(
      'the other partition to commit',
      async () => {
        const c = (await admin.fetchOffsets({ groupId: w.groupId, topics: [w.topics.events] }))[0]!.partitions.find((x) => x.partition !== failing);
        return Number(c?.offset ?? -1) >= 1 || undefined;
      },
      30_000,
    );
    // the cause goes: the partition commits at its next retry, the page is written once, the report goes
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: w.topics.alerts, configEntries: [{ name: 'max.message.bytes', value: '1048588' }] }] });
    await w.waitCaughtUp(90_000);
    const ts = await w.transitions();
    assert.deepEqual(ts.map((t) => `${t.alert}/${t.labels.region}/${t.state}@${t.at}`), [`codesign_keychain_failures/HK/firing@${iso(START + 2 * 60_000)}`]);
    await until('the failure report to go', async () => ((await metric()).failures === 0 ? true : undefined), 60_000);
  } catch (e) {
    process.stderr.write(w.logs().slice(-4000));
    throw e;
  } finally {
    await w.cleanup();
  }
});
