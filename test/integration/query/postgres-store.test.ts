/**
 * The EventStore contract suite on the real PostgreSQL server (127.0.0.1:5432, trust auth, database `test`),
 * each test in its own schema, dropped after; and the cross-store check: same data, same questions → same answers.
 * Env: SIGNWATCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { POSTGRES_MIGRATIONS, PostgresEventStore } from '../../../services/query/postgres-store.js';
import type { StoreInput } from '../../../services/query/store.js';
import { SqliteEventStore } from '../../../services/query/sqlite-store.js';
import { runStoreSuite, answerSet } from '../../unit/query/store-suite.js';
import { generateBatches } from '../../../bench/query-gen.js';

const PG_URL = process.env.SIGNWATCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
let n = 0;
const uniqueSchema = () => `sw_test_${process.pid}_${Date.now().toString(36)}_${++n}`;

async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}

runStoreSuite('postgres', async (opts) => {
  const schema = uniqueSchema();
  const store = new PostgresEventStore(`${PG_URL}?schema=${schema}`, opts);
  await store.open();
  return { store, cleanup: () => dropSchema(schema) };
});

void test('postgres: migrations are versioned and applied once; concurrent opens do not race', async () => {
  const schema = uniqueSchema();
  const a = new PostgresEventStore(`${PG_URL}?schema=${schema}`);
  const b = new PostgresEventStore(`${PG_URL}?schema=${schema}`);
  try {
    await Promise.all([a.open(), b.open()]);
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      const r = await c.query<{ version: number }>(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
      assert.deepEqual(r.rows.map((x) => x.version), POSTGRES_MIGRATIONS.map((m) => m.version));
      const idx = await c.query<{ indexname: string }>('SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY 1', [schema, 'events']);
      assert.ok(!idx.rows.some((r) => r.indexname === 'events_region_ts'), 'events_region_ts dropped (migration 5)');
      for (const name of ['events_ts', 'events_host_ts', 'events_type_ts', 'events_correlation', 'events_invocation', 'events_error_ts']) {
        assert.ok(idx.rows.some((r) => r.indexname === name), `index ${name}`);
      }
    } finally {
      await c.end();
    }
  } finally {
    await a.close();
    await b.close();
    await dropSchema(schema);
  }
});

void test('postgres: concurrent writers with overlapping batches store and count every event once', async () => {
  const schema = uniqueSchema();
  const store = new PostgresEventStore(`${PG_URL}?schema=${schema}`, { max: 4 });
  await store.open();
  try {
    const end = Date.parse('2026-11-26T00:00:00.000Z');
    const batches = [...generateBatches({ seed: 5, count: 4000, end, days: 1, hostsPerRegion: 3 }, 400)];
    // four writers at once: each batch is sent by two of them (one whole, one in a batch that also carries the next
    // batch's first half), so COPYs meet ids another transaction holds uncommitted (23505 after it commits: the
    // idempotent merge) as well as all-new batches (the direct COPY)
    const jobs: StoreInput[][] = [];
    for (const [i, b] of batches.entries()) {
      jobs.push(b);
      jobs.push([...b, ...(batches[i + 1]?.slice(0, 200) ?? [])]);
    }
    let next = 0;
    let added = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = next++; i < jobs.length; i = next++) {
          const n = await store.insertBatch(jobs[i]!);
          added += n;
        }
      }),
    );
    assert.equal(added, 4000, 'every event counted as new exactly once across the writers');
    assert.equal((await store.stats()).events, 4000);
    const all = await store.query({}, { limit: 100_000 });
    assert.equal(new Set(all.map((e) => e.id)).size, 4000);
    assert.equal(new Set(all.map((e) => e.seq)).size, 4000);
    assert.deepEqual(await store.countBy({}, []), [{ count: 4000 }], 'the rollup counted each event once');
    const byRegion = await store.countBy({ since: end - 86_400_000, until: end }, ['region']);
    const naive = new Map<string, number>();
    for (const e of all) naive.set(e.region, (naive.get(e.region) ?? 0) + 1);
    assert.deepEqual(new Map(byRegion.map((r) => [r.region!, r.count])), naive);
  } finally {
    await store.close();
    await dropSchema(schema);
  }
});

void test('postgres: an unreachable server is a retryable StoreError', async () => {
  const s = new PostgresEventStore('postgres://postgres@127.0.0.1:1/test');
  await assert.rejects(s.open(), (e: { code: string; retryable: boolean }) => e.retryable === true && e.code === 'SW_STORE_DB');
  await s.close();
});

void test('same data, same question set: SQLite and PostgreSQL give the same answers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-query-x-'));
  const schema = uniqueSchema();
  const lite = new SqliteEventStore(join(dir, 'events.db'));
  const post = new PostgresEventStore(`${PG_URL}?schema=${schema}`);
  try {
    await lite.open();
    await post.open();
    const end = Date.parse('2026-11-26T00:00:00.000Z');
    for (const batch of generateBatches({ seed: 3, count: 6000, end, days: 3, hostsPerRegion: 4 }, 1500)) {
      const [x, y] = await Promise.all([lite.insertBatch(batch), post.insertBatch(batch)]);
      assert.equal(x, y);
    }
    const [a, b] = await Promise.all([answerSet(lite), answerSet(post)]);
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++) assert.deepEqual(b[i], a[i], `question ${i}`);
    assert.ok((a[0] as unknown[]).length > 0, 'the questions have non-empty answers');
  } finally {
    await lite.close();
    await post.close();
    rmSync(dir, { recursive: true, force: true });
    await dropSchema(schema);
  }
});
