/**
 * PostgreSQL event store (`postgres://host/db?schema=NAME`): for teams that share one store or outgrow one
 * SQLite file, and what Grafana's PostgreSQL panel reads. See store.ts for the contract.
 *
 * Tables live in one schema (default `signwatch`; `?schema=` in the URL picks another, e.g. one per test run).
 * A batch is one transaction on one connection, atomic and idempotent by id (a batch sent twice, or ids repeated
 * inside a batch, are stored once and counted once). Ids repeated inside the batch are dropped in the client (the
 * first is kept). Then, under a savepoint, `COPY … FROM STDIN` (pg-copy-streams, text format) straight into events
 * and one upsert of the batch's rollup counts, computed in the client while encoding the COPY text (the normal case:
 * every id is new). An id already stored, or held by a concurrent writer's transaction, fails that COPY on the unique
 * index (23505): back to the savepoint, and the batch goes the idempotent way, COPY into a per-session temporary
 * staging table merged by ONE statement (INSERT … SELECT … ON CONFLICT (id) DO NOTHING → rollup upserts from the
 * RETURNING rows). Several writers (the store writer's partitionsConsumedConcurrently, bench/query.ts
 * --pg-writers) can share a store: each batch is its own transaction. Sessions run with TimeZone=UTC.
 * Known limit: `seq` comes from a sequence, so with several concurrent writers a --follow reader can, rarely,
 * see a higher seq commit before a lower one and skip the lower one.
 */
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import {
  DEFAULT_LIMIT,
  aroundSideLimit,
  fitAround,
  DEFAULT_RETENTION_MS,
  MAX_LIMIT,
  StoreError,
  extractColumns,
  type AroundResult,
  type Context,
  type CountKey,
  type CountRow,
  type EventColumns,
  type EventStore,
  type ListOptions,
  type QueryFilters,
  type StoreInput,
  type StoreStats,
  type StoredEvent,
  type SweepOptions,
} from './store.js';
import { HOUR_MS, mergeCounts, planCount, rollupTable, toCountRow, whereClauses, whereSql, type Dialect, rowToEvent as toEvent, type EventRow as Row } from './sql.js';
import type { Migration } from './sqlite-store.js';

const HOUR_OF = (col: string) => `date_bin('1 hour', ${col}, TIMESTAMPTZ '1970-01-01T00:00:00Z')`;
const MS_OF = (col: string) => `(extract(epoch from ${col}) * 1000)::float8`;

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events table and indexes',
    sql: `
CREATE TABLE events (
  seq bigserial PRIMARY KEY,
  id text COLLATE "C" NOT NULL UNIQUE,
  ts timestamptz NOT NULL,
  type text COLLATE "C" NOT NULL,
  region text COLLATE "C" NOT NULL,
  host text COLLATE "C" NOT NULL,
  pool text COLLATE "C" NOT NULL,
  outcome text COLLATE "C",
  error_code text COLLATE "C",
  error_class text COLLATE "C",
  keychain text COLLATE "C",
  correlation_id text COLLATE "C",
  invocation_id text COLLATE "C",
  partition_ids jsonb,
  raw text NOT NULL
);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_region_ts ON events (region, ts);
CREATE INDEX events_host_ts ON events (host, ts);
CREATE INDEX events_type_ts ON events (type, ts);
CREATE INDEX events_correlation ON events (correlation_id) WHERE correlation_id IS NOT NULL;
CREATE INDEX events_invocation ON events (invocation_id) WHERE invocation_id IS NOT NULL;
CREATE INDEX events_error_ts ON events (error_code, ts) WHERE error_code IS NOT NULL;
CREATE INDEX events_partitions ON events USING gin (partition_ids) WHERE partition_ids IS NOT NULL;
`,
  },
  {
    version: 2,
    name: 'hourly rollup for --count-by',
    sql: `
CREATE TABLE hourly_counts (
  hour timestamptz NOT NULL,
  region text COLLATE "C" NOT NULL,
  host text COLLATE "C" NOT NULL,
  type text COLLATE "C" NOT NULL,
  outcome text COLLATE "C" NOT NULL,
  error_code text COLLATE "C" NOT NULL,
  count bigint NOT NULL,
  PRIMARY KEY (hour, region, host, type, outcome, error_code)
);
INSERT INTO hourly_counts
  SELECT ${HOUR_OF('ts')}, region, host, type, coalesce(outcome, ''), coalesce(error_code, ''), count(*)
  FROM events GROUP BY 1, 2, 3, 4, 5, 6;
`,
  },
  {
    version: 3,
    name: 'hourly rollup without host (region-level --count-by)',
    sql: `
CREATE TABLE hourly_region_counts (
  hour timestamptz NOT NULL,
  region text COLLATE "C" NOT NULL,
  type text COLLATE "C" NOT NULL,
  outcome text COLLATE "C" NOT NULL,
  error_code text COLLATE "C" NOT NULL,
  count bigint NOT NULL,
  PRIMARY KEY (hour, region, type, outcome, error_code)
);
INSERT INTO hourly_region_counts
  SELECT hour, region, type, outcome, error_code, sum(count) FROM hourly_counts GROUP BY 1, 2, 3, 4, 5;
`,
  },
  {
    version: 4,
    name: 'future_ref: the reference time of an event stamped beyond it + maxFutureSkew (bounded event time)',
    sql: `ALTER TABLE events ADD COLUMN future_ref timestamptz;`,
  },
  {
    version: 5,
    // With 5 regions (~20 % of the events each) the planner already answered region filters from events_ts (a time
    // range or ORDER BY ts, filtered) and used events_region_ts only to bitmap-scan a region over a long range, which
    // reads nearly every page of the table anyway (bench/RESULTS.md "PostgreSQL ingest, round 2": EXPLAIN before and
    // after). One btree less to maintain on every insert.
    name: 'drop events_region_ts (region filters are served by events_ts)',
    sql: `DROP INDEX IF EXISTS events_region_ts;`,
  },
];

const pgDialect: Dialect = {
  param(params, value) {
    params.push(value);
    return `$${params.length}`;
  },
  time(params, ms) {
    params.push(new Date(ms).toISOString());
    return `$${params.length}::timestamptz`;
  },
  partitionAny(params, values) {
    params.push([...values]);
    return `partition_ids ?| $${params.length}::text[]`;
  },
};

const SELECT_COLUMNS = `seq, id, ${MS_OF('ts')} AS ts, type, region, host, outcome, error_code, keychain, correlation_id, invocation_id, ${MS_OF('future_ref')} AS future_ref, raw`;


const ROLLUP_SELECT: Record<CountKey, string> = {
  hour: MS_OF('hour'),
  region: 'region',
  host: 'host',
  type: 'type',
  outcome: 'outcome',
  error: 'error_code',
};
const EVENTS_SELECT: Record<CountKey, string> = {
  hour: MS_OF(HOUR_OF('ts')),
  region: 'region',
  host: 'host',
  type: 'type',
  outcome: 'outcome',
  error: 'error_code',
};

/** SQLSTATE classes and socket errors worth retrying. */
function isRetryable(code: string): boolean {
  return (
    code.startsWith('08') || // connection exception
    code === '40001' || // serialization failure
    code === '40P01' || // deadlock
    code === '53300' || // too many connections
    code === '57P01' || // admin shutdown
    code === '57P03' || // cannot connect now
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT'
  );
}

function wrap(e: unknown, what: string): StoreError {
  if (e instanceof StoreError) return e;
  const raw = (e as { code?: unknown }).code;
  const code = typeof raw === 'string' ? raw : '';
  return new StoreError('SW_STORE_DB', `postgres store: ${what}: ${(e as Error).message}${code ? ` (${code})` : ''}`, { retryable: isRetryable(code), cause: e });
}

/** The events columns a batch is COPY'd with, in this order (copyText writes them). */
export const COPY_COLUMNS =
  'id, ts, type, region, host, pool, outcome, error_code, error_class, keychain, correlation_id, invocation_id, partition_ids, raw, future_ref';

const NEEDS_ESCAPE = /[\\\n\r\t]/;

/** One value in COPY's text format: backslash, newline, carriage return and tab escaped; null is \N. */
function copyValue(v: string | null): string {
  if (v === null) return '\\N';
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'));
}

/** A batch as COPY text-format rows (COPY_COLUMNS), one line per event. */
export function copyText(events: readonly StoreInput[]): string {
  return encode(events, undefined);
}

/** copyText, and into `groups` (when given) each event's rollup group (rollupKey) with its count: one column extraction per event. */
function encode(events: readonly StoreInput[], groups: Map<string, RollupGroup> | undefined): string {
  let out = '';
  for (const { event, raw, futureRef } of events) {
    const c = extractColumns(event);
    if (groups) {
      const hour = Math.floor(c.ts / HOUR_MS) * HOUR_MS;
      const k = rollupKey(hour, c);
      const g = groups.get(k);
      if (g) g.n++;
      else groups.set(k, { hour, c, n: 1 });
    }
    out +=
      `${copyValue(c.id)}\t${new Date(c.ts).toISOString()}\t${copyValue(c.type)}\t${copyValue(c.region)}\t${copyValue(c.host)}\t${copyValue(c.pool)}\t` +
      `${copyValue(c.outcome)}\t${copyValue(c.errorCode)}\t${copyValue(c.errorClass)}\t${copyValue(c.keychain)}\t${copyValue(c.correlationId)}\t` +
      `${copyValue(c.invocationId)}\t${copyValue(c.partitionIds ? JSON.stringify(c.partitionIds) : null)}\t${copyValue(raw)}\t` +
      `${futureRef === undefined || futureRef === null ? '\\N' : new Date(futureRef).toISOString()}\n`;
  }
  return out;
}

/** Stream `text` (COPY text format) into `table` (COPY_COLUMNS) on `client`; resolves with the rows copied. */
export async function copyInto(client: pg.ClientBase, table: string, text: string): Promise<number> {
  const stream = client.query(copyFrom(`COPY ${table} (${COPY_COLUMNS}) FROM STDIN`));
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    stream.on('finish', resolve);
    stream.end(text);
  });
  return stream.rowCount;
}

const MERGE_SQL = `
WITH ins AS (
  INSERT INTO events (${COPY_COLUMNS})
  SELECT ${COPY_COLUMNS} FROM events_stage
  ON CONFLICT (id) DO NOTHING
  RETURNING ts, region, host, type, outcome, error_code
), agg AS (
  INSERT INTO hourly_counts (hour, region, host, type, outcome, error_code, count)
  SELECT ${HOUR_OF('ts')}, region, host, type, coalesce(outcome, ''), coalesce(error_code, ''), count(*)
  FROM ins GROUP BY 1, 2, 3, 4, 5, 6
  ON CONFLICT (hour, region, host, type, outcome, error_code) DO UPDATE SET count = hourly_counts.count + excluded.count
), agg_region AS (
  INSERT INTO hourly_region_counts (hour, region, type, outcome, error_code, count)
  SELECT ${HOUR_OF('ts')}, region, type, coalesce(outcome, ''), coalesce(error_code, ''), count(*)
  FROM ins GROUP BY 1, 2, 3, 4, 5
  ON CONFLICT (hour, region, type, outcome, error_code) DO UPDATE SET count = hourly_region_counts.count + excluded.count
)
SELECT count(*)::int AS added FROM ins`;

/** The batch without the events whose id came earlier in it (the first one is stored, as ON CONFLICT DO NOTHING keeps it). */
export function firstById(events: readonly StoreInput[]): readonly StoreInput[] {
  const seen = new Set<string>();
  let out: StoreInput[] | undefined;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (!seen.has(e.event.id)) {
      seen.add(e.event.id);
      out?.push(e);
    } else {
      out ??= events.slice(0, i);
    }
  }
  return out ?? events;
}

type RollupArrays = [string[], string[], string[], string[], string[], string[], number[]];

/** One group of the rollups: its hour bin (ms), the columns of its first event, and how many events it has. */
interface RollupGroup {
  hour: number;
  c: EventColumns;
  n: number;
}

/** An event's group in the rollups: hour bin (date_bin('1 hour', ts, epoch)), region, host, type, outcome, error ('' when absent). */
function rollupKey(hour: number, c: EventColumns): string {
  return `${hour}\0${c.region}\0${c.host}\0${c.type}\0${c.outcome ?? ''}\0${c.errorCode ?? ''}`;
}

/** Rollup groups as the parameter arrays of ROLLUP_SQL. */
function rollupArrays(groups: ReadonlyMap<string, RollupGroup>): RollupArrays {
  const cols: RollupArrays = [[], [], [], [], [], [], []];
  const iso = new Map<number, string>();
  for (const { hour, c, n } of groups.values()) {
    let h = iso.get(hour);
    if (h === undefined) iso.set(hour, (h = new Date(hour).toISOString()));
    cols[0].push(h);
    cols[1].push(c.region);
    cols[2].push(c.host);
    cols[3].push(c.type);
    cols[4].push(c.outcome ?? '');
    cols[5].push(c.errorCode ?? '');
    cols[6].push(n);
  }
  return cols;
}

/**
 * A batch's COPY text (copyText) and the rollup counts of its events, for the fast path where every one of them is
 * inserted, as the parameter arrays of ROLLUP_SQL.
 */
export function encodeBatch(events: readonly StoreInput[]): { text: string; rollup: RollupArrays } {
  const groups = new Map<string, RollupGroup>();
  const text = encode(events, groups);
  return { text, rollup: rollupArrays(groups) };
}

/** Adds a batch's rollup counts (encodeBatch) to both hourly rollups. */
const ROLLUP_SQL = `
WITH g AS (
  SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
    AS g(hour, region, host, type, outcome, error_code, count)
), agg AS (
  INSERT INTO hourly_counts (hour, region, host, type, outcome, error_code, count)
  SELECT hour, region, host, type, outcome, error_code, count FROM g
  ON CONFLICT (hour, region, host, type, outcome, error_code) DO UPDATE SET count = hourly_counts.count + excluded.count
)
INSERT INTO hourly_region_counts (hour, region, type, outcome, error_code, count)
SELECT hour, region, type, outcome, error_code, sum(count) FROM g GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (hour, region, type, outcome, error_code) DO UPDATE SET count = hourly_region_counts.count + excluded.count`;

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

export interface PostgresStoreOptions {
  retentionMs?: number;
  /** Schema holding the tables (default from `?schema=` in the URL, else `signwatch`). */
  schema?: string;
  /** Pool size (default 4). */
  max?: number;
}

export class PostgresEventStore implements EventStore {
  readonly kind = 'postgres' as const;
  readonly retentionMs: number;
  readonly schema: string;
  private pool: pg.Pool | undefined;
  private opening: Promise<void> | undefined;
  private closed = false;
  private readonly connectionString: string;
  private readonly max: number;

  constructor(url: string, opts: PostgresStoreOptions = {}) {
    const u = new URL(url);
    const fromUrl = u.searchParams.get('schema');
    u.searchParams.delete('schema');
    this.schema = opts.schema ?? fromUrl ?? 'signwatch';
    if (!SCHEMA_RE.test(this.schema)) {
      throw new StoreError('SW_STORE_BAD_SCHEMA', `postgres store: schema "${this.schema}" must match ${SCHEMA_RE.source}`);
    }
    this.connectionString = u.toString();
    this.retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;
    this.max = opts.max ?? 4;
  }

  open(): Promise<void> {
    if (this.closed) return Promise.reject(new StoreError('SW_STORE_CLOSED', 'postgres store: open() after close()'));
    this.opening ??= this.doOpen();
    return this.opening;
  }

  private async doOpen(): Promise<void> {
    const pool = new pg.Pool({
      connectionString: this.connectionString,
      max: this.max,
      options: `-c search_path=${this.schema} -c TimeZone=UTC`,
      connectionTimeoutMillis: 10_000,
    });
    pool.on('error', () => {
      /* idle client lost: the next query reconnects */
    });
    try {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`signwatch.migrate.${this.schema}`]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
        await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
        const r = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
        const current = r.rows[0]?.v ?? 0;
        const latest = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]!.version;
        if (current > latest) {
          throw new StoreError('SW_STORE_SCHEMA_TOO_NEW', `postgres store: schema version ${current} is newer than this signwatch (${latest})`);
        }
        for (const m of POSTGRES_MIGRATIONS) {
          if (m.version <= current) continue;
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        }
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
      this.pool = pool;
    } catch (e) {
      this.opening = undefined;
      await pool.end().catch(() => undefined);
      throw wrap(e, 'open');
    }
  }

  private need(): pg.Pool {
    if (!this.pool) throw new StoreError('SW_STORE_NOT_OPEN', 'postgres store: not open (call open() first)');
    return this.pool;
  }

  /** Connections that already hold the staging table (a temporary table lives as long as its session). */
  private readonly staged = new WeakSet<pg.PoolClient>();

  async insertBatch(events: readonly StoreInput[]): Promise<number> {
    const pool = this.need();
    if (events.length === 0) return 0;
    const { text, rollup } = encodeBatch(firstById(events));
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      throw wrap(e, 'insertBatch');
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      let added: number;
      // fast path, the normal case (every id new): COPY straight into events, then the batch's own rollup counts.
      // An id already stored (a redelivery, a re-import, a concurrent writer with the same batch) fails the COPY on
      // the unique index (23505): back to the savepoint, and the batch goes the idempotent way, COPY into the staging
      // table merged by id. Either way one transaction: all or nothing.
      await client.query('SAVEPOINT direct');
      try {
        added = await copyInto(client, 'events', text);
        await client.query('RELEASE SAVEPOINT direct');
      } catch (e) {
        if ((e as { code?: unknown }).code !== '23505') throw e;
        await client.query('ROLLBACK TO SAVEPOINT direct');
        added = -1;
      }
      if (added >= 0) {
        await client.query(ROLLUP_SQL, rollup);
      } else {
        if (!this.staged.has(client)) {
          // same columns and types as events (but seq, which the merge draws), no indexes, emptied at every commit
          await client.query('CREATE TEMPORARY TABLE IF NOT EXISTS events_stage (LIKE events) ON COMMIT DELETE ROWS');
          await client.query('ALTER TABLE events_stage DROP COLUMN IF EXISTS seq');
          this.staged.add(client);
        }
        await copyInto(client, 'events_stage', text);
        const r = await client.query<{ added: number }>(MERGE_SQL);
        added = r.rows[0]?.added ?? 0;
      }
      await client.query('COMMIT');
      return added;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw wrap(e, 'insertBatch');
    } finally {
      client.release(broken);
    }
  }

  private async rows(sql: string, params: unknown[], what: string): Promise<Row[]> {
    try {
      return (await this.need().query<Row>(sql, params)).rows;
    } catch (e) {
      throw wrap(e, what);
    }
  }

  async query(filters: QueryFilters, options: ListOptions = {}): Promise<StoredEvent[]> {
    const params: unknown[] = [];
    const where = whereSql(whereClauses(pgDialect, params, filters));
    const dir = options.order === 'desc' ? 'DESC' : 'ASC';
    const order = options.bySeq ? `seq ${dir}` : `events.ts ${dir}, id ${dir}`;
    params.push(Math.min(options.limit ?? DEFAULT_LIMIT, MAX_LIMIT));
    const rows = await this.rows(`SELECT ${SELECT_COLUMNS} FROM events ${where} ORDER BY ${order} LIMIT $${params.length}`, params, 'query');
    return rows.map(toEvent);
  }

  async getById(id: string): Promise<StoredEvent | null> {
    const rows = await this.rows(`SELECT ${SELECT_COLUMNS} FROM events WHERE id = $1`, [id], 'getById');
    return rows[0] ? toEvent(rows[0]) : null;
  }

  async around(id: string, filters: QueryFilters, before: Context, after: Context, limit = DEFAULT_LIMIT): Promise<AroundResult | null> {
    const anchor = await this.getById(id);
    if (!anchor) return null;
    const side = async (dir: 'before' | 'after', ctx: Context): Promise<StoredEvent[]> => {
      const params: unknown[] = [];
      const f: QueryFilters = { ...filters };
      if ('ms' in ctx) {
        if (dir === 'before') f.since = Math.max(f.since ?? -Infinity, anchor.ts - ctx.ms);
        else f.until = Math.min(f.until ?? Infinity, anchor.ts + ctx.ms + 1);
      }
      const clauses = whereClauses(pgDialect, params, f);
      const t = pgDialect.time(params, anchor.ts);
      const i = pgDialect.param(params, anchor.id);
      clauses.push(dir === 'before' ? `(events.ts, id) < (${t}, ${i})` : `(events.ts, id) > (${t}, ${i})`);
      const desc = dir === 'before' ? 'DESC' : 'ASC';
      params.push(aroundSideLimit(ctx, limit));
      const rows = (
        await this.rows(`SELECT ${SELECT_COLUMNS} FROM events ${whereSql(clauses)} ORDER BY events.ts ${desc}, id ${desc} LIMIT $${params.length}`, params, 'around')
      ).map(toEvent);
      return dir === 'before' ? rows.reverse() : rows;
    };
    const [b, a] = await Promise.all([side('before', before), side('after', after)]);
    return fitAround(anchor, b, a, limit);
  }

  async countBy(filters: QueryFilters, keys: readonly CountKey[]): Promise<CountRow[]> {
    const plan = planCount(filters);
    const group = keys.length ? `GROUP BY ${keys.map((_, i) => i + 1).join(', ')}` : '';
    const jobs: Promise<CountRow[]>[] = [];
    if (plan.rollup) {
      const params: unknown[] = [];
      const f: QueryFilters = { ...filters, since: plan.rollup.from, until: plan.rollup.to };
      const cols = keys.map((k) => `${ROLLUP_SELECT[k]} AS "${k}"`);
      const sql = `SELECT ${[...cols, 'sum(count)::float8 AS count'].join(', ')} FROM ${rollupTable(filters, keys)} ${whereSql(whereClauses(pgDialect, params, f, 'hour'))} ${group}`;
      jobs.push(this.rows(sql, params, 'countBy').then((rows) => rows.map((r) => toCountRow(keys, r as unknown as Record<string, unknown>, true))));
    }
    for (const range of plan.raw) {
      const params: unknown[] = [];
      const f: QueryFilters = { ...filters, since: range.since, until: range.until };
      const cols = keys.map((k) => `${EVENTS_SELECT[k]} AS "${k}"`);
      const sql = `SELECT ${[...cols, 'count(*)::float8 AS count'].join(', ')} FROM events ${whereSql(whereClauses(pgDialect, params, f))} ${group}`;
      jobs.push(this.rows(sql, params, 'countBy').then((rows) => rows.map((r) => toCountRow(keys, r as unknown as Record<string, unknown>, false))));
    }
    return mergeCounts(keys, await Promise.all(jobs));
  }

  async sweep(options: SweepOptions = {}): Promise<number> {
    const pool = this.need();
    const cutoff = new Date((options.now ?? Date.now()) - this.retentionMs).toISOString();
    const batch = options.batchSize ?? 2000;
    const client = await pool.connect().catch((e: unknown) => {
      throw wrap(e, 'sweep');
    });
    try {
      await client.query('BEGIN');
      const r = await client.query<{ n: number }>(
        `
WITH victims AS (
  SELECT seq FROM events WHERE ts < $1::timestamptz ORDER BY ts LIMIT $2 FOR UPDATE SKIP LOCKED
), del AS (
  DELETE FROM events e USING victims v WHERE e.seq = v.seq
  RETURNING e.ts, e.region, e.host, e.type, e.outcome, e.error_code
), agg AS (
  SELECT ${HOUR_OF('ts')} AS hour, region, host, type, coalesce(outcome, '') AS outcome, coalesce(error_code, '') AS error_code, count(*) AS n
  FROM del GROUP BY 1, 2, 3, 4, 5, 6
), upd AS (
  UPDATE hourly_counts h SET count = h.count - agg.n FROM agg
  WHERE h.hour = agg.hour AND h.region = agg.region AND h.host = agg.host AND h.type = agg.type
    AND h.outcome = agg.outcome AND h.error_code = agg.error_code
  RETURNING 1
), agg_region AS (
  SELECT hour, region, type, outcome, error_code, sum(n) AS n FROM agg GROUP BY 1, 2, 3, 4, 5
), upd_region AS (
  UPDATE hourly_region_counts h SET count = h.count - a.n FROM agg_region a
  WHERE h.hour = a.hour AND h.region = a.region AND h.type = a.type AND h.outcome = a.outcome AND h.error_code = a.error_code
  RETURNING 1
)
SELECT count(*)::int AS n FROM del`,
        [cutoff, batch],
      );
      await client.query(`DELETE FROM hourly_counts WHERE count <= 0 AND hour <= $1::timestamptz`, [cutoff]);
      await client.query(`DELETE FROM hourly_region_counts WHERE count <= 0 AND hour <= $1::timestamptz`, [cutoff]);
      await client.query('COMMIT');
      return r.rows[0]?.n ?? 0;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw wrap(e, 'sweep');
    } finally {
      client.release();
    }
  }

  async stats(): Promise<StoreStats> {
    try {
      const r = await this.need().query<{ n: string; lo: number | null; hi: number | null; v: number | null }>(
        `SELECT count(*) AS n, ${MS_OF('min(ts)')} AS lo, ${MS_OF('max(ts)')} AS hi, (SELECT max(version) FROM schema_migrations) AS v FROM events`,
      );
      const row = r.rows[0]!;
      return { events: Number(row.n), oldestTs: row.lo, newestTs: row.hi, schemaVersion: row.v ?? 0 };
    } catch (e) {
      throw wrap(e, 'stats');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const opening = this.opening;
    this.opening = undefined;
    if (opening) await opening.catch(() => undefined);
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await pool.end();
  }
}
