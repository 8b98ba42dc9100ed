/**
 * SQLite event store (the embedded default): better-sqlite3@12, WAL journal, one transaction per batch.
 * See store.ts for the contract. The hourly rollup table `hourly_counts` is maintained in the same transaction
 * as the events (only for rows that were new), so `--count-by hour,…` over 30 days reads hundreds of rollup
 * rows instead of millions of events.
 */
import { ensurePrivateFile } from '../platform/files.js';
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import {
  DEFAULT_LIMIT,
  aroundSideLimit,
  fitAround,
  DEFAULT_RETENTION_MS,
  MAX_LIMIT,
  StoreError,
  extractColumns,
  type AroundResult,
  type EventColumns,
  type Context,
  type CountKey,
  type CountRow,
  type EventStore,
  type ListOptions,
  type QueryFilters,
  type StoreInput,
  type StoreStats,
  type StoredEvent,
  type SweepOptions,
} from './store.js';
import { TimestampParser } from '../engine/time.js';
import { WalCheckpointer } from './sqlite-checkpointer.js';
import { HOUR_MS, mergeCounts, planCount, rollupTable, toCountRow, whereClauses, whereSql, type Dialect, rowToEvent as toEvent, type EventRow as Row } from './sql.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events table and indexes',
    sql: `
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  ts INTEGER NOT NULL,
  type TEXT NOT NULL,
  region TEXT NOT NULL,
  host TEXT NOT NULL,
  pool TEXT NOT NULL,
  outcome TEXT,
  error_code TEXT,
  error_class TEXT,
  keychain TEXT,
  correlation_id TEXT,
  invocation_id TEXT,
  partition_ids TEXT,
  raw TEXT NOT NULL
);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_region_ts ON events (region, ts);
CREATE INDEX events_host_ts ON events (host, ts);
CREATE INDEX events_type_ts ON events (type, ts);
CREATE INDEX events_correlation ON events (correlation_id) WHERE correlation_id IS NOT NULL;
CREATE INDEX events_invocation ON events (invocation_id) WHERE invocation_id IS NOT NULL;
CREATE INDEX events_error_ts ON events (error_code, ts) WHERE error_code IS NOT NULL;
`,
  },
  {
    version: 2,
    name: 'hourly rollup for --count-by',
    sql: `
CREATE TABLE hourly_counts (
  hour INTEGER NOT NULL,
  region TEXT NOT NULL,
  host TEXT NOT NULL,
  type TEXT NOT NULL,
  outcome TEXT NOT NULL,
  error_code TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (hour, region, host, type, outcome, error_code)
) WITHOUT ROWID;
INSERT INTO hourly_counts
  SELECT (ts / ${HOUR_MS}) * ${HOUR_MS}, region, host, type, coalesce(outcome, ''), coalesce(error_code, ''), count(*)
  FROM events GROUP BY 1, 2, 3, 4, 5, 6;
`,
  },
  {
    version: 3,
    name: 'hourly rollup without host (region-level --count-by)',
    sql: `
CREATE TABLE hourly_region_counts (
  hour INTEGER NOT NULL,
  region TEXT NOT NULL,
  type TEXT NOT NULL,
  outcome TEXT NOT NULL,
  error_code TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (hour, region, type, outcome, error_code)
) WITHOUT ROWID;
INSERT INTO hourly_region_counts
  SELECT hour, region, type, outcome, error_code, sum(count) FROM hourly_counts GROUP BY 1, 2, 3, 4, 5;
`,
  },
  {
    // Every index is one more B-tree written per event (~5 % of ingest each, measured). Region (5 values) and
    // type (7) are coarse: listing queries filtered on them walk events_ts and test the column, host and
    // correlation/--around lookups keep their own indexes, and --count-by reads the rollups.
    version: 4,
    name: 'drop the (region, ts) and (type, ts) indexes (ingest speed)',
    sql: `
DROP INDEX IF EXISTS events_region_ts;
DROP INDEX IF EXISTS events_type_ts;
`,
  },
  {
    version: 5,
    name: 'future_ref: the reference time of an event stamped beyond it + maxFutureSkew (bounded event time)',
    sql: `ALTER TABLE events ADD COLUMN future_ref INTEGER;`,
  },
];

const sqliteDialect: Dialect = {
  param(params, value) {
    params.push(value);
    return '?';
  },
  time(params, ms) {
    params.push(ms);
    return '?';
  },
  partitionAny(params, values) {
    return `EXISTS (SELECT 1 FROM json_each(events.partition_ids) WHERE value IN (${values.map((v) => this.param(params, v)).join(', ')}))`;
  },
};

const SELECT_COLUMNS =
  'seq, id, ts, type, region, host, outcome, error_code, keychain, correlation_id, invocation_id, future_ref, raw';


/** Without the background checkpointer (read-only use, or its worker failed): checkpoint past this WAL size. */
const WAL_CHECKPOINT_BYTES = 128 * 1024 * 1024;

/** How long a statement waits for a lock another connection holds. */
const BUSY_TIMEOUT_MS = 5000;

/** Rollup keys per multi-row upsert. */
const ROLLUP_CHUNK = 64;

/** Rows per multi-row INSERT (14 parameters each; 16–256 measured the same). */
const CHUNK = 64;

export interface SqliteStoreOptions {
  retentionMs?: number;
  /** Fail with SW_STORE_NOT_FOUND instead of creating a new file (the query command). */
  mustExist?: boolean;
  /** Page cache in MiB (default 64). */
  cacheMiB?: number;
  /**
   * Copy the WAL into the database file on a worker thread instead of inside the writer's commits (default
   * true; see sqlite-checkpointer.ts). Started by the first insertBatch, so read-only use never starts it.
   */
  backgroundCheckpoint?: boolean;
}

const ROLLUP_SELECT: Record<CountKey, string> = {
  hour: 'hour',
  region: 'region',
  host: 'host',
  type: 'type',
  outcome: 'outcome',
  error: 'error_code',
};
const EVENTS_SELECT: Record<CountKey, string> = {
  hour: `(ts / ${HOUR_MS}) * ${HOUR_MS}`,
  region: 'region',
  host: 'host',
  type: 'type',
  outcome: 'outcome',
  error: 'error_code',
};

function wrap(e: unknown, what: string): StoreError {
  if (e instanceof StoreError) return e;
  const raw = (e as { code?: unknown }).code;
  const code = typeof raw === 'string' ? raw : '';
  const retryable = code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === 'SQLITE_IOERR';
  return new StoreError('SW_STORE_DB', `sqlite store: ${what}: ${(e as Error).message}${code ? ` (${code})` : ''}`, { retryable, cause: e });
}

/** Per-store memory of the binding hot path (the last hour parsed, the last partition list). */
interface BindCaches {
  time: TimestampParser;
  lists: StringListJson;
}

/** Insert parameters per event. */
const PARAMS = 15;

/** Writes the PARAMS insert parameters of `input` at `out[at…]`; returns its columns for the rollup. */
function bindEvent(out: unknown[], at: number, { event, raw, futureRef }: StoreInput, caches: BindCaches): EventColumns {
  const c = extractColumns(event, caches.time);
  out[at] = c.id;
  out[at + 1] = c.ts;
  out[at + 2] = c.type;
  out[at + 3] = c.region;
  out[at + 4] = c.host;
  out[at + 5] = c.pool;
  out[at + 6] = c.outcome;
  out[at + 7] = c.errorCode;
  out[at + 8] = c.errorClass;
  out[at + 9] = c.keychain;
  out[at + 10] = c.correlationId;
  out[at + 11] = c.invocationId;
  out[at + 12] = c.partitionIds ? caches.lists.json(c.partitionIds) : null;
  out[at + 13] = raw;
  out[at + 14] = futureRef ?? null;
  return c;
}

/** Characters JSON.stringify would escape (quote, backslash, controls, lone surrogates). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * JSON.stringify for arrays of strings, for partition ID lists: a host sends the same list again and again, so
 * the last one is remembered (one per store: its memory is the store's); plain strings are joined by hand;
 * anything to escape goes to JSON.stringify.
 */
export class StringListJson {
  private last: readonly string[] = [];
  private lastJson = '[]';

  json(list: readonly string[]): string {
    const last = this.last;
    if (list.length === last.length) {
      let same = true;
      for (let i = 0; i < list.length && same; i++) same = list[i] === last[i];
      if (same) return this.lastJson;
    }
    this.lastJson = joinStrings(list);
    this.last = list.slice();
    return this.lastJson;
  }
}

function joinStrings(list: readonly string[]): string {
  let out = '[';
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (typeof v !== 'string' || NEEDS_ESCAPE.test(v)) return JSON.stringify(list);
    out += i === 0 ? `"${v}"` : `,"${v}"`;
  }
  return `${out}]`;
}

type HostRow = [hour: number, region: string, host: string, type: string, outcome: string, error: string, count: number];
type RegionRow = [hour: number, region: string, type: string, outcome: string, error: string, count: number];

/** The columns an event is counted by in the rollups. */
type RollupColumns = Pick<EventColumns, 'ts' | 'region' | 'host' | 'type' | 'outcome' | 'errorCode'>;

/**
 * Events counted per (hour, region, host, type, outcome, error code): a batch's new events (added to the rollups)
 * or a retention sweep's deleted ones (subtracted). Keyed per hour first, so the per-event key is a join of short
 * strings (no number formatting): batches are mostly one or a few hours.
 */
class HourlyTally {
  added = 0;
  private readonly hours = new Map<number, Map<string, HostRow>>();
  private lastHour = Number.NaN;
  private last: Map<string, HostRow> | undefined;

  add(c: RollupColumns): void {
    this.added++;
    const hour = Math.floor(c.ts / HOUR_MS) * HOUR_MS;
    if (hour !== this.lastHour) {
      this.lastHour = hour;
      this.last = this.hours.get(hour);
      if (!this.last) this.hours.set(hour, (this.last = new Map<string, HostRow>()));
    }
    const outcome = c.outcome ?? '';
    const error = c.errorCode ?? '';
    const key = `${c.region}\u0000${c.host}\u0000${c.type}\u0000${outcome}\u0000${error}`;
    const row = this.last!.get(key);
    if (row) row[6]++;
    else this.last!.set(key, [hour, c.region, c.host, c.type, outcome, error, 1]);
  }

  *hostRows(): Generator<HostRow> {
    for (const m of this.hours.values()) yield* m.values();
  }

  /** The same counts without the host. */
  regionRows(): Iterable<RegionRow> {
    const out = new Map<string, RegionRow>();
    for (const [hour, m] of this.hours) {
      for (const r of m.values()) {
        const key = `${hour}\u0000${r[1]}\u0000${r[3]}\u0000${r[4]}\u0000${r[5]}`;
        const prev = out.get(key);
        if (prev) prev[5] += r[6];
        else out.set(key, [hour, r[1], r[3], r[4], r[5], r[6]]);
      }
    }
    return out.values();
  }
}

/** Adds counts to a rollup table: multi-row upserts of ROLLUP_CHUNK keys (distinct within a call), then singles. */
class RollupUpsert {
  private readonly single: Database.Statement;
  private readonly multi: Database.Statement;
  private readonly width: number;

  constructor(db: Database.Database, table: string, keys: readonly string[]) {
    this.width = keys.length + 1;
    const prepare = (rows: number) =>
      db.prepare(
        `INSERT INTO ${table} (${keys.join(', ')}, count) VALUES ${Array(rows).fill(`(${Array(this.width).fill('?').join(', ')})`).join(', ')} ` +
          `ON CONFLICT (${keys.join(', ')}) DO UPDATE SET count = count + excluded.count`,
      );
    this.single = prepare(1);
    this.multi = prepare(ROLLUP_CHUNK);
  }

  run(rows: Iterable<readonly (string | number)[]>): void {
    let args: (string | number)[] = [];
    let n = 0;
    for (const r of rows) {
      for (const v of r) args.push(v);
      if (++n === ROLLUP_CHUNK) {
        this.multi.run(args);
        args = [];
        n = 0;
      }
    }
    for (let k = 0; k < n; k++) this.single.run(args.slice(k * this.width, (k + 1) * this.width));
  }
}

export class SqliteEventStore implements EventStore {
  readonly kind = 'sqlite' as const;
  readonly retentionMs: number;
  private db: Database.Database | undefined;
  private closed = false;
  private readonly opts: SqliteStoreOptions;
  private insertTx: Database.Transaction<(events: readonly StoreInput[]) => number> | undefined;
  private readonly caches: BindCaches = { time: new TimestampParser(), lists: new StringListJson() };
  private checkpointer: WalCheckpointer | undefined;

  constructor(
    readonly path: string,
    opts: SqliteStoreOptions = {},
  ) {
    this.opts = opts;
    this.retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;
  }

  open(): Promise<void> {
    if (this.db) return Promise.resolve();
    if (this.closed) return Promise.reject(new StoreError('SW_STORE_CLOSED', 'sqlite store: open() after close()'));
    if (this.opts.mustExist && this.path !== ':memory:' && !existsSync(this.path)) {
      return Promise.reject(new StoreError('SW_STORE_NOT_FOUND', `sqlite store: ${this.path} does not exist`));
    }
    try {
      // a store we may create or write: 0600 in a 0700 directory, never through a symlink (readers only read)
      if (!this.opts.mustExist && this.path !== ':memory:' && !this.path.startsWith('file:')) ensurePrivateFile(this.path);
      const db = new Database(this.path);
      db.pragma('page_size = 16384'); // only takes effect on a new database; measured ~20 % faster ingest than 4 KiB
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma('temp_store = MEMORY');
      db.pragma(`cache_size = -${(this.opts.cacheMiB ?? 64) * 1024}`);
      // until the background checkpointer takes over (or if it fails): checkpoint every ~128 MiB of WAL instead of
      // SQLite's 1000 pages (16 MiB here), so index pages rewritten by every batch are copied far less often
      // (commit time −30 % measured). Durability is unchanged (WAL + synchronous=NORMAL).
      const pageSize = db.pragma('page_size', { simple: true }) as number;
      const autoPages = Math.max(1000, Math.floor(WAL_CHECKPOINT_BYTES / pageSize));
      db.pragma(`wal_autocheckpoint = ${autoPages}`);
      // after a WAL restart, truncate a -wal file that grew past this (the writer reuses it from the start)
      db.pragma(`journal_size_limit = ${WAL_CHECKPOINT_BYTES}`);
      this.migrate(db);
      this.db = db;
      this.prepare(db);
      const file = this.path !== ':memory:' && this.path !== '';
      if (file && this.opts.backgroundCheckpoint !== false) this.checkpointer = new WalCheckpointer(db, this.path, { fallbackPages: autoPages, busyTimeoutMs: BUSY_TIMEOUT_MS });
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(wrap(e, 'open'));
    }
  }

  /** Current schema version (0 = empty database). */
  static schemaVersion(db: Database.Database): number {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const r = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
    return r.v ?? 0;
  }

  private migrate(db: Database.Database): void {
    const apply = db.transaction(() => {
      const current = SqliteEventStore.schemaVersion(db);
      const latest = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]!.version;
      if (current > latest) {
        throw new StoreError('SW_STORE_SCHEMA_TOO_NEW', `sqlite store: schema version ${current} is newer than this signwatch (${latest})`);
      }
      for (const m of SQLITE_MIGRATIONS) {
        if (m.version <= current) continue;
        db.exec(m.sql);
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
      }
    });
    apply.immediate();
  }

  private prepare(db: Database.Database): void {
    const cols =
      '(id, ts, type, region, host, pool, outcome, error_code, error_class, keychain, correlation_id, invocation_id, partition_ids, raw, future_ref)';
    const tuple = `(${Array(PARAMS).fill('?').join(', ')})`;
    // No RETURNING: it makes SQLite buffer every inserted row and better-sqlite3 build a JS array of new strings
    // per row (measured ~20 % of ingest). The rollup is tallied from the input columns instead; only a chunk where
    // `changes` says some ids were already known asks which of its rows are new (seq above the previous maximum).
    // (Tallying in SQL, INSERT … SELECT … GROUP BY over the new rows, measured 45 % slower than this.)
    const one = db.prepare(`INSERT OR IGNORE INTO events ${cols} VALUES ${tuple}`);
    const many = db.prepare(`INSERT OR IGNORE INTO events ${cols} VALUES ${Array(CHUNK).fill(tuple).join(', ')}`);
    const maxSeq = db.prepare('SELECT max(seq) FROM events').pluck();
    const newIds = db.prepare('SELECT id FROM events WHERE seq > ?').pluck();
    const hosts = new RollupUpsert(db, 'hourly_counts', ['hour', 'region', 'host', 'type', 'outcome', 'error_code']);
    const regions = new RollupUpsert(db, 'hourly_region_counts', ['hour', 'region', 'type', 'outcome', 'error_code']);
    // one reused parameter array per statement shape (bound as an array: no spread of 896 arguments)
    const manyArgs: unknown[] = new Array<unknown>(CHUNK * PARAMS);
    const oneArgs: unknown[] = new Array<unknown>(PARAMS);
    const rows: EventColumns[] = new Array<EventColumns>(CHUNK);
    this.insertTx = db.transaction((events: readonly StoreInput[]) => {
      const tally = new HourlyTally();
      // the highest seq before each statement: rows it adds get larger ones (rowid = max + 1, one writer)
      let before = (maxSeq.get() as number | null) ?? 0;
      const insert = (stmt: Database.Statement, args: unknown[], n: number) => {
        const { changes, lastInsertRowid } = stmt.run(args);
        if (changes === n) {
          for (let k = 0; k < n; k++) tally.add(rows[k]!);
        } else if (changes > 0) {
          // some ids were known (a replay) or repeated in the chunk: tally only the rows this statement added
          const fresh = new Set(newIds.all(before) as string[]);
          for (let k = 0; k < n; k++) if (fresh.delete(rows[k]!.id)) tally.add(rows[k]!);
        }
        if (changes > 0) before = Number(lastInsertRowid);
      };
      let i = 0;
      for (; i + CHUNK <= events.length; i += CHUNK) {
        for (let k = 0; k < CHUNK; k++) rows[k] = bindEvent(manyArgs, k * PARAMS, events[i + k]!, this.caches);
        insert(many, manyArgs, CHUNK);
      }
      for (; i < events.length; i++) {
        rows[0] = bindEvent(oneArgs, 0, events[i]!, this.caches);
        insert(one, oneArgs, 1);
      }
      hosts.run(tally.hostRows());
      regions.run(tally.regionRows());
      return tally.added;
    });
  }

  private need(): Database.Database {
    if (!this.db) throw new StoreError('SW_STORE_NOT_OPEN', 'sqlite store: not open (call open() first)');
    return this.db;
  }

  insertBatch(events: readonly StoreInput[]): Promise<number> {
    try {
      this.need();
      if (events.length === 0) return Promise.resolve(0);
      this.checkpointer?.beforeWrite();
      // IMMEDIATE: take the write lock up front, so a checkpoint that holds it makes this wait (busy_timeout)
      // instead of failing with SQLITE_BUSY when a read snapshot cannot be upgraded
      return Promise.resolve(this.insertTx!.immediate(events));
    } catch (e) {
      return Promise.reject(wrap(e, 'insertBatch'));
    }
  }

  private all(sql: string, params: unknown[]): Row[] {
    return this.need().prepare(sql).all(...params) as Row[];
  }

  query(filters: QueryFilters, options: ListOptions = {}): Promise<StoredEvent[]> {
    try {
      const params: unknown[] = [];
      const where = whereSql(whereClauses(sqliteDialect, params, filters));
      const dir = options.order === 'desc' ? 'DESC' : 'ASC';
      const order = options.bySeq ? `seq ${dir}` : `ts ${dir}, id ${dir}`;
      const limit = Math.min(options.limit ?? DEFAULT_LIMIT, MAX_LIMIT);
      params.push(limit);
      return Promise.resolve(this.all(`SELECT ${SELECT_COLUMNS} FROM events ${where} ORDER BY ${order} LIMIT ?`, params).map(toEvent));
    } catch (e) {
      return Promise.reject(wrap(e, 'query'));
    }
  }

  getById(id: string): Promise<StoredEvent | null> {
    try {
      const r = this.need().prepare(`SELECT ${SELECT_COLUMNS} FROM events WHERE id = ?`).get(id) as Row | undefined;
      return Promise.resolve(r ? toEvent(r) : null);
    } catch (e) {
      return Promise.reject(wrap(e, 'getById'));
    }
  }

  async around(id: string, filters: QueryFilters, before: Context, after: Context, limit = DEFAULT_LIMIT): Promise<AroundResult | null> {
    const anchor = await this.getById(id);
    if (!anchor) return null;
    try {
      const side = (dir: 'before' | 'after', ctx: Context): StoredEvent[] => {
        const params: unknown[] = [];
        const f: QueryFilters = { ...filters };
        if ('ms' in ctx) {
          if (dir === 'before') f.since = Math.max(f.since ?? -Infinity, anchor.ts - ctx.ms);
          else f.until = Math.min(f.until ?? Infinity, anchor.ts + ctx.ms + 1);
        }
        const clauses = whereClauses(sqliteDialect, params, f);
        clauses.push(dir === 'before' ? '(ts, id) < (?, ?)' : '(ts, id) > (?, ?)');
        params.push(anchor.ts, anchor.id);
        const desc = dir === 'before';
        params.push(aroundSideLimit(ctx, limit));
        const rows = this.all(
          `SELECT ${SELECT_COLUMNS} FROM events ${whereSql(clauses)} ORDER BY ts ${desc ? 'DESC' : 'ASC'}, id ${desc ? 'DESC' : 'ASC'} LIMIT ?`,
          params,
        ).map(toEvent);
        return desc ? rows.reverse() : rows;
      };
      return fitAround(anchor, side('before', before), side('after', after), limit);
    } catch (e) {
      throw wrap(e, 'around');
    }
  }

  countBy(filters: QueryFilters, keys: readonly CountKey[]): Promise<CountRow[]> {
    try {
      const plan = planCount(filters);
      const parts: CountRow[][] = [];
      const group = keys.length ? `GROUP BY ${keys.map((_, i) => i + 1).join(', ')}` : '';
      if (plan.rollup) {
        const params: unknown[] = [];
        const f: QueryFilters = { ...filters, since: plan.rollup.from, until: plan.rollup.to };
        const cols = keys.map((k) => `${ROLLUP_SELECT[k]} AS "${k}"`);
        const table = rollupTable(filters, keys);
        const sql = `SELECT ${[...cols, 'sum(count) AS count'].join(', ')} FROM ${table} ${whereSql(whereClauses(sqliteDialect, params, f, 'hour'))} ${group}`;
        const rows = this.need().prepare(sql).all(...params) as Record<string, unknown>[];
        parts.push(rows.map((r) => toCountRow(keys, r, true)));
      }
      for (const range of plan.raw) {
        const params: unknown[] = [];
        const f: QueryFilters = { ...filters, since: range.since, until: range.until };
        const cols = keys.map((k) => `${EVENTS_SELECT[k]} AS "${k}"`);
        const sql = `SELECT ${[...cols, 'count(*) AS count'].join(', ')} FROM events ${whereSql(whereClauses(sqliteDialect, params, f))} ${group}`;
        const rows = this.need().prepare(sql).all(...params) as Record<string, unknown>[];
        parts.push(rows.map((r) => toCountRow(keys, r, false)));
      }
      return Promise.resolve(mergeCounts(keys, parts));
    } catch (e) {
      return Promise.reject(wrap(e, 'countBy'));
    }
  }

  sweep(options: SweepOptions = {}): Promise<number> {
    try {
      const db = this.need();
      const cutoff = (options.now ?? Date.now()) - this.retentionMs;
      const batch = options.batchSize ?? 2000;
      const run = db.transaction(() => {
        const rows = db
          .prepare('SELECT seq, ts, region, host, type, outcome, error_code AS errorCode FROM events WHERE ts < ? ORDER BY ts LIMIT ?')
          .all(cutoff, batch) as (RollupColumns & { seq: number })[];
        if (rows.length === 0) return 0;
        const tally = new HourlyTally();
        for (const r of rows) tally.add(r);
        const dec = db.prepare(
          'UPDATE hourly_counts SET count = count - ? WHERE hour = ? AND region = ? AND host = ? AND type = ? AND outcome = ? AND error_code = ?',
        );
        const drop = db.prepare(
          'DELETE FROM hourly_counts WHERE hour = ? AND region = ? AND host = ? AND type = ? AND outcome = ? AND error_code = ? AND count <= 0',
        );
        const decRegion = db.prepare(
          'UPDATE hourly_region_counts SET count = count - ? WHERE hour = ? AND region = ? AND type = ? AND outcome = ? AND error_code = ?',
        );
        const dropRegion = db.prepare(
          'DELETE FROM hourly_region_counts WHERE hour = ? AND region = ? AND type = ? AND outcome = ? AND error_code = ? AND count <= 0',
        );
        for (const r of tally.hostRows()) {
          const key = r.slice(0, 6);
          dec.run(r[6], ...key);
          drop.run(...key);
        }
        for (const r of tally.regionRows()) {
          const key = r.slice(0, 5);
          decRegion.run(r[5], ...key);
          dropRegion.run(...key);
        }
        const del = db.prepare('DELETE FROM events WHERE seq = ?');
        for (const r of rows) del.run(r.seq);
        return rows.length;
      });
      return Promise.resolve(run.immediate());
    } catch (e) {
      return Promise.reject(wrap(e, 'sweep'));
    }
  }

  stats(): Promise<StoreStats> {
    try {
      const db = this.need();
      const r = db.prepare('SELECT count(*) AS n, min(ts) AS lo, max(ts) AS hi FROM events').get() as { n: number; lo: number | null; hi: number | null };
      const v = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
      return Promise.resolve({ events: r.n, oldestTs: r.lo, newestTs: r.hi, schemaVersion: v.v ?? 0 });
    } catch (e) {
      return Promise.reject(wrap(e, 'stats'));
    }
  }

  /** The background checkpointer's counters (undefined for :memory: or when turned off). */
  get checkpointStats(): WalCheckpointer['stats'] | undefined {
    return this.checkpointer?.stats;
  }

  /** True while a worker thread does this store's WAL checkpoints (from the first insertBatch until close). */
  get backgroundCheckpointing(): boolean {
    return this.checkpointer?.running ?? false;
  }

  async close(): Promise<void> {
    this.closed = true;
    const db = this.db;
    this.db = undefined;
    this.insertTx = undefined;
    const checkpointer = this.checkpointer;
    this.checkpointer = undefined;
    // the worker closes its connection first; closing the writer's (the last one) then checkpoints the rest
    await checkpointer?.stop();
    if (db?.open) db.close();
  }
}
