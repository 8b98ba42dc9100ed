/** The EventStore contract suite on SQLite (a fresh file in a unique temp dir per test), plus SQLite specifics. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS, SqliteEventStore } from '../../../services/query/sqlite-store.js';
import { runStoreSuite, fixture } from './store-suite.js';

const LATEST = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]!.version;

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
      assert.deepEqual(versions.map((v) => v.version), SQLITE_MIGRATIONS.map((m) => m.version));
      const idx = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]).map((r) => r.name).sort();
      assert.deepEqual(idx, ['events_correlation', 'events_error_ts', 'events_host_ts', 'events_invocation', 'events_ts']);
      const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((p) => p.detail).join(' | ');
      assert.match(plan("SELECT * FROM events WHERE correlation_id = 'x'"), /events_correlation/);
      assert.match(plan("SELECT * FROM events WHERE invocation_id = 'x'"), /events_invocation/);
      assert.match(plan("SELECT * FROM events WHERE id = 'x'"), /sqlite_autoindex_events_1/);
      // --around on one host (the benchmark's query) and host listings: the (host, ts) index
      assert.match(plan("SELECT * FROM events WHERE host = 'h' AND (ts, id) < (1, 'x') ORDER BY ts DESC, id DESC LIMIT 10"), /events_host_ts/);
      assert.match(plan("SELECT * FROM events WHERE error_code = 'e' AND ts >= 1 ORDER BY ts, id LIMIT 10"), /events_error_ts/);
      // region/type listings (no index of their own since migration 4) walk the time index, never the whole table
      for (const where of ["region = 'HK'", "type = 'clock'", "region IN ('JP', 'US') AND type = 'unlock'", "region = 'HK' AND ts >= 1 AND ts < 2"]) {
        const p = plan(`SELECT * FROM events WHERE ${where} ORDER BY ts, id LIMIT 1000`);
        assert.match(p, /events_ts/, where);
        assert.doesNotMatch(p, /SCAN events(?! USING)/, where);
      }
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

/** A store at `path` holding fixture(), then rewound to an older schema by `sql` (as an older signwatch left it); returns its hourly counts by region and outcome from before the rewind. */
async function rewound(path: string, sql: string) {
  const s = new SqliteEventStore(path);
  await s.open();
  await s.insertBatch(fixture());
  const counts = await s.countBy({}, ['hour', 'region', 'outcome']);
  await s.close();
  const db = new Database(path);
  db.exec(sql);
  db.close();
  return counts;
}

void test('sqlite: upgrading a version-2 store back-fills the region rollup from the host rollup', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'events.db');
    const before = await rewound(path, 'DROP TABLE hourly_region_counts; ALTER TABLE events DROP COLUMN future_ref; DELETE FROM schema_migrations WHERE version >= 3');
    const s2 = new SqliteEventStore(path);
    await s2.open();
    assert.equal((await s2.stats()).schemaVersion, LATEST);
    assert.deepEqual(await s2.countBy({}, ['hour', 'region', 'outcome']), before);
    assert.equal(before.reduce((n, r) => n + r.count, 0), 12);
    await s2.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('sqlite: upgrading a version-3 store drops the (region, ts) and (type, ts) indexes and keeps every answer', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'events.db');
    // rewind to version 3: the two indexes back, migration 4 not applied
    await rewound(path, 'CREATE INDEX events_region_ts ON events (region, ts); CREATE INDEX events_type_ts ON events (type, ts); ALTER TABLE events DROP COLUMN future_ref; DELETE FROM schema_migrations WHERE version >= 4');
    const s3 = new SqliteEventStore(path);
    await s3.open();
    try {
      assert.equal((await s3.stats()).schemaVersion, LATEST);
      assert.equal((await s3.stats()).events, 12);
      assert.deepEqual((await s3.query({ region: ['JP'] })).map((e) => e.region), ['JP', 'JP']);
      assert.deepEqual((await s3.query({ type: ['clock'] })).map((e) => e.type), ['clock']);
      assert.equal((await s3.countBy({}, [])).reduce((n, r) => n + r.count, 0), 12);
    } finally {
      await s3.close();
    }
    const ro = new Database(path, { readonly: true });
    try {
      const names = (ro.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('events_region_ts', 'events_type_ts')").all() as { name: string }[]).map((r) => r.name);
      assert.deepEqual(names, []);
    } finally {
      ro.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
