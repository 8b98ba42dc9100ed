/** RetentionSweeper: sweeps in small batches with writes interleaving; stop() idempotent and safe without start. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RetentionSweeper } from '../../../services/query/retention.js';
import { SqliteEventStore } from '../../../services/query/sqlite-store.js';
import { mk, T0 } from './store-suite.js';

void test('sweeper deletes everything past retention while inserts keep landing between its batches', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-query-ret-'));
  const store = new SqliteEventStore(join(dir, 'events.db'), { retentionMs: 86_400_000 });
  await store.open();
  try {
    const old = Array.from({ length: 1000 }, (_, i) => mk({ ts: T0 - 3 * 86_400_000 + i * 1000 }));
    await store.insertBatch(old);
    const never = new RetentionSweeper(store);
    await never.stop(); // without start
    const swept: number[] = [];
    const sweeper = new RetentionSweeper(store, { batchSize: 50, now: () => T0, onSwept: (n) => swept.push(n), onError: (e) => assert.fail(String(e)) });
    await sweeper.start();
    // writes interleave with the sweep's batches (each batch yields to the event loop)
    let written = 0;
    for (let i = 0; i < 20 && swept.length === 0; i++) {
      written += await store.insertBatch([mk({ ts: T0 - 1000 - i })]);
      await new Promise((r) => setImmediate(r));
    }
    const until = Date.now() + 120_000;
    while (swept.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(swept, [1000]);
    assert.ok(written >= 2, `writes landed during the sweep (${written})`);
    assert.equal((await store.stats()).events, written);
    await sweeper.stop();
    await sweeper.stop();
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
