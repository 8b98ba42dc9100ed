/**
 * The SQLite store's background WAL checkpointer (services/query/sqlite-checkpointer.ts): it keeps the WAL short
 * while a writer never pauses, hands checkpointing back to the writer when its worker fails, and a kill -9 in the
 * middle of ingest loses no committed batch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { WalCheckpointer } from '../../../services/query/sqlite-checkpointer.js';
import { SqliteEventStore } from '../../../services/query/sqlite-store.js';
import { fixture } from './store-suite.js';

const MiB = 1024 * 1024;
/** A hang fails the test and names it instead of stalling the run. */
const TEST_TIMEOUT_MS = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sw-ckpt-'));
}

function walDb(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma(`journal_size_limit = ${4 * MiB}`); // as the store does: a restarted WAL is cut back to this
  db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)');
  return db;
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

void test('checkpointer: a writer that never pauses keeps a short WAL, and every row is in the database file', { timeout: TEST_TIMEOUT_MS }, async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'w.db');
    const db = walDb(path);
    const cp = new WalCheckpointer(db, path, { intervalMs: 10, restartBytes: 2 * MiB, fallbackPages: 1000, busyTimeoutMs: 5000 });
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const batch = db.transaction((n: number) => {
      for (let i = 0; i < n; i++) insert.run('x'.repeat(1000));
    });
    cp.beforeWrite();
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000, 'the writer checkpoints itself until the worker is up');
    await until('the hand-over', () => {
      cp.beforeWrite();
      return db.pragma('wal_autocheckpoint', { simple: true }) === 0;
    });
    let maxWal = 0;
    for (let b = 0; b < 300; b++) {
      cp.beforeWrite();
      batch.immediate(200); // ~200 KiB per transaction, 60 MiB in all
      maxWal = Math.max(maxWal, statSync(`${path}-wal`).size);
      // no await: the worker's reports reach this thread only through shared memory, as with a busy writer
    }
    await until('a checkpoint report', () => cp.stats.checkpoints > 0);
    assert.equal(cp.stats.failure, undefined);
    assert.ok(cp.stats.restarts > 0, 'the WAL passed 2 MiB and was restarted by the writer');
    // the WAL starts over once past 2 MiB: it never holds the 60 MiB written (a bound of 20 MiB leaves room for a slow machine)
    assert.ok(maxWal < 20 * MiB, `WAL grew to ${(maxWal / MiB).toFixed(1)} MiB`);
    await cp.stop();
    await cp.stop(); // idempotent
    db.close();
    assert.equal(existsSync(`${path}-wal`), false, 'the last connection checkpointed the rest and removed the WAL');
    const check = new Database(path, { readonly: true });
    assert.equal(check.prepare('SELECT count(*) FROM t').pluck().get(), 300 * 200);
    assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
    check.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('checkpointer: when its worker cannot open the file, the writer gets its automatic checkpoint back', { timeout: TEST_TIMEOUT_MS }, async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'w.db');
    const db = walDb(path);
    const cp = new WalCheckpointer(db, join(dir, 'missing.db'), { intervalMs: 10, fallbackPages: 777, busyTimeoutMs: 5000 });
    cp.beforeWrite();
    await until('the failure report', () => cp.stats.failure !== undefined);
    assert.match(cp.stats.failure!, /SQLITE_CANTOPEN|unable to open/i);
    assert.equal(cp.running, false);
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 777);
    cp.beforeWrite(); // does not start another worker
    assert.equal(cp.running, false);
    await cp.stop();
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('store: the checkpointer starts with the first write, never for reads, and stops on close', { timeout: TEST_TIMEOUT_MS }, async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'events.db');
    const store = new SqliteEventStore(path);
    await store.open();
    await store.query({});
    assert.equal(store.backgroundCheckpointing, false, 'reading starts no thread');
    await store.insertBatch(fixture());
    assert.equal(store.backgroundCheckpointing, true);
    await store.close();
    assert.equal(store.backgroundCheckpointing, false);
    const off = new SqliteEventStore(path, { backgroundCheckpoint: false });
    await off.open();
    await off.insertBatch(fixture());
    assert.equal(off.backgroundCheckpointing, false);
    await off.close();
    const mem = new SqliteEventStore(':memory:');
    await mem.open();
    await mem.insertBatch(fixture());
    assert.equal(mem.backgroundCheckpointing, false, ':memory: has no WAL');
    await mem.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('store: kill -9 during ingest with background checkpoints loses no committed batch', { timeout: TEST_TIMEOUT_MS }, async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'events.db');
    const storeUrl = new URL('../../../services/query/sqlite-store.js', import.meta.url).href;
    // a writer that prints the running total after every committed batch of 2000 events, without end
    const child = `
      const { SqliteEventStore } = await import(${JSON.stringify(storeUrl)});
      const store = new SqliteEventStore(${JSON.stringify(path)});
      await store.open();
      let n = 0;
      for (let b = 0; ; b++) {
        const batch = [];
        for (let i = 0; i < 2000; i++, n++) {
          const ts = Date.UTC(2026, 10, 1) + n * 1000;
          const id = 'E' + String(n).padStart(25, '0');
          const event = { v: 1, id, ts: new Date(ts).toISOString(), host: 'mini-hk-0' + (n % 5), region: 'HK', pool: 'signing',
            agent: '0.1.0', type: 'unlock', outcome: 'ok', durationMs: 100, keychain: '/k', correlationId: 'ci-' + (n >> 2) };
          batch.push({ event, raw: JSON.stringify(event) + ' '.repeat(300) });
        }
        await store.insertBatch(batch);
        process.stdout.write(n + '\\n');
      }`;
    const proc = spawn(process.execPath, ['--input-type=module', '-e', child], { stdio: ['ignore', 'pipe', 'inherit'] });
    let committed = 0;
    let out = '';
    const target = 60_000 + Math.floor(Math.random() * 40_000);
    await new Promise<void>((resolve, reject) => {
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const lines = out.split('\n');
        out = lines.pop()!;
        for (const l of lines) committed = Number(l);
        if (committed >= target && proc.exitCode === null) proc.kill('SIGKILL');
      });
      proc.once('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited early: ${code}`))));
    });
    assert.ok(committed >= target);
    const store = new SqliteEventStore(path);
    await store.open();
    const stats = await store.stats();
    // every batch reported as committed is there (the one in flight may be too, whole or not at all)
    assert.ok(stats.events === committed || stats.events === committed + 2000, `${stats.events} stored, ${committed} committed`);
    const counted = (await store.countBy({}, [])).reduce((a, r) => a + r.count, 0);
    assert.equal(counted, stats.events, 'the rollup matches the events (same transactions)');
    await store.close();
    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('checkpointer worker refuses to run outside a worker thread', { timeout: TEST_TIMEOUT_MS }, async () => {
  const worker = fileURLToPath(new URL('../../../services/query/sqlite-checkpoint-worker.js', import.meta.url));
  const proc = spawn(process.execPath, [worker], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => proc.once('exit', r));
  assert.notEqual(code, 0);
  assert.match(err, /runs only as a worker thread/);
});
