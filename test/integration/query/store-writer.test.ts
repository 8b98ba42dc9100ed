/**
 * The store writer on the real broker (LogAppendTime events topic, as the processor creates it): a year-9999 event
 * (dead-lettered by the processor as future_timestamp) is kept in the event store for postmortems, flagged with its
 * record's time, and `--flag future` finds exactly it. Needs Kafka (npm run kafka:start) and SIGNWATCH_INTEGRATION=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { KafkaConnection } from '../../../services/platform/kafka-config.js';
import { createLogger } from '../../../services/platform/logger.js';
import { SqliteEventStore } from '../../../services/query/sqlite-store.js';
import { createStoreWriter } from '../../../services/query/store-writer.js';
import { BROKERS, INTEGRATION, until, World } from '../processor/harness.js';

const skip = INTEGRATION ? false : 'needs the real broker: SIGNWATCH_INTEGRATION=1 after `npm run kafka:start`';
const silent = createLogger({ name: 't', level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

const unlock = (id: string, ts: string) =>
  JSON.stringify({ v: 1, id, ts, type: 'unlock', host: 'mini-hk-01', region: 'HK', pool: 'signing', agent: 't', outcome: 'ok', durationMs: 120, keychain: '/k.keychain-db' });

void test('store writer: a future-stamped event is stored with its record time as flag; --flag future finds only it', { skip, timeout: 120_000 }, async () => {
  const w = new World({ partitions: 1, clock: 'event' });
  const store = new SqliteEventStore(join(w.dir, 'events.db'));
  await store.open();
  const writer = createStoreWriter({ kafka: KafkaConnection('signwatch-test').parse({ brokers: BROKERS }), topic: w.topics.events, groupId: `${w.groupId}.store`, store, log: silent, maxFutureSkew: 5 * 60_000 });
  try {
    await w.createEventsTopic();
    const honestId = '01KB0000000000000000000001';
    const poisonId = '01KB0000000000000000000002';
    const before = Date.now();
    await w.produceRaw([
      { key: 'HK', value: unlock(honestId, new Date(before - 60_000).toISOString()) },
      { key: 'HK', value: unlock(poisonId, '9999-12-31T23:59:59.999Z') },
    ]);
    await writer.start();
    await until('both events stored', async () => (await store.stats()).events === 2 || undefined, 60_000);
    const flagged = await store.query({ flag: ['future'] });
    assert.deepEqual(flagged.map((e) => e.id), [poisonId]);
    // the flag is the broker's append time of the record (LogAppendTime): after we produced, before now
    const ref = flagged[0]!.futureRef!;
    assert.ok(ref >= before - 1000 && ref <= Date.now(), `reference ${new Date(ref).toISOString()} is the broker's append time`);
    assert.equal((await store.getById(honestId))?.futureRef, null);
  } finally {
    await writer.stop();
    await store.close();
    await w.cleanup();
  }
});
