/** The EventStore contract suite on SQLite (a fresh file in a unique temp dir per test), plus SQLite specifics. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteEventStore } from '../../../services/query/sqlite-store.js';
import { runStoreSuite, fixture } from './store-suite.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sw-query-'));
}

runStoreSuite('sqlite', (opts) => {
  const dir = tempDir();
  const store = new SqliteEventStore(join(dir, 'events.db'), opts);
  return store.open().then(() => ({ store, cleanup: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) }));
});

void test('sqlite: WAL journal, versioned migrations applied once, every index present', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'events.db');
    const s1 = new SqliteEventStore(path);
    await s1.open();
    await s1.insertBatch(fixture());
    await s1.close();
    const s2 = new SqliteEventStore(path);
    await s2.open();
    assert.equal((await s2.stats()).events, 12);
    await s2.close();
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[];
      assert.deepEqual(versions.map((v) => v.version), [1, 2, 3]);
      const idx = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]).map((r) => r.name).sort();
      assert.deepEqual(idx, ['events_correlation', 'events_error_ts', 'events_host_ts', 'events_invocation', 'events_region_ts', 'events_ts', 'events_type_ts']);
      const plan = db.prepare("EXPLAIN QUERY PLAN SELECT * FROM events WHERE correlation_id = 'x'").all() as { detail: string }[];
      assert.match(plan.map((p) => p.detail).join(' '), /events_correlation/);
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('sqlite: a database from a newer signwatch is refused, not modified', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'events.db');
    const db = new Database(path);
    db.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL); INSERT INTO schema_migrations VALUES (99, 'future', 'x')");
    db.close();
    const s = new SqliteEventStore(path);
    await assert.rejects(s.open(), { code: 'SW_STORE_SCHEMA_TOO_NEW', retryable: false });
    await s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('sqlite: mustExist refuses to create a store that is not there', async () => {
  const dir = tempDir();
  try {
    const s = new SqliteEventStore(join(dir, 'nope.db'), { mustExist: true });
    await assert.rejects(s.open(), { code: 'SW_STORE_NOT_FOUND' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('sqlite: upgrading a version-2 store back-fills the region rollup from the host rollup', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'events.db');
    const s1 = new SqliteEventStore(path);
    await s1.open();
    await s1.insertBatch(fixture());
    const before = await s1.countBy({}, ['hour', 'region', 'outcome']);
    await s1.close();
    const db = new Database(path);
    db.exec('DROP TABLE hourly_region_counts; DELETE FROM schema_migrations WHERE version = 3');
    db.close();
    const s2 = new SqliteEventStore(path);
    await s2.open();
    assert.equal((await s2.stats()).schemaVersion, 3);
    assert.deepEqual(await s2.countBy({}, ['hour', 'region', 'outcome']), before);
    assert.equal(before.reduce((n, r) => n + r.count, 0), 12);
    await s2.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
