/**
 * Event store benchmark: ingest rate into each store, latency of a correlation-id lookup, an --around query and
 * a 30-day --count-by hour,region. Sizes are parameters (the issue asks for 10 M events; `npm run bench` uses a
 * small default so it stays quick on a shared 2-core machine):
 *
 *   node dist/bench/query.js --events 10000000 --pg-events 1000000 [--batch 5000] [--dir /tmp/x] [--stores sqlite,postgres]
 *     [--pg-writers 2 [--pg-rounds 2] [--pg-days 30] [--pg-writers-only]]   (store vs bare COPY, N concurrent writers, server CPU)
 *   env for run(): SIGNWATCH_BENCH_QUERY_EVENTS, SIGNWATCH_BENCH_QUERY_PG_EVENTS, SIGNWATCH_PG_URL
 *
 * Baselines measured in the same run: ingest into a bare SQLite table with the store's indexes (no rollup, no
 * extraction of the optional columns) on the first min(N, 1 M) events; for PostgreSQL a bare `COPY` of the same rows
 * straight into an identical events table (same columns, same indexes: the store's migrations in a second schema),
 * no staging, no merge, no rollup; the 30-day count answered from the events table instead of the rollup.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir, cpus, totalmem, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { generateBatches, mulberry32, type GenOptions } from './query-gen.js';
import { SQLITE_MIGRATIONS, SqliteEventStore } from '../services/query/sqlite-store.js';
import { PostgresEventStore, copyInto, copyText } from '../services/query/postgres-store.js';
import { extractColumns, type EventStore, type StoreInput } from '../services/query/store.js';

export interface QueryBenchOptions {
  events: number;
  pgEvents: number;
  batch: number;
  dir?: string;
  stores: ('sqlite' | 'postgres')[];
  pgUrl: string;
  keep: boolean;
  /** Concurrent writers of the PostgreSQL writers comparison (0: skip it). */
  pgWriters?: number;
  /** Rounds of that comparison (each: store and bare, alternating). */
  pgRounds?: number;
  /** Only the writers comparison (skip the sequential, interleaved and query parts). */
  pgWritersOnly?: boolean;
  /** Days the writers comparison's events span (default 30). */
  pgDays?: number;
}

const END = Date.parse('2026-11-26T00:00:00.000Z');
const DAYS = 30;
const HOSTS_PER_REGION = 20;

function quantile(xs: number[], q: number): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)} ms`;
const rate = (n: number, s: number) => `${Math.round(n / s).toLocaleString('en-US')} events/s`;

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

interface StoreFigures {
  store: string;
  events: number;
  ingestS: number;
  /** CPU time (user+system) of this process during insertBatch calls: less sensitive to other load. */
  ingestCpuS: number;
  genS: number;
  load: string;
  sizeNote: string;
  corr: number[];
  around: number[];
  count30d: number[];
  count30dRows: number;
  count30dRaw?: number;
}

async function benchStore(store: EventStore, n: number, o: QueryBenchOptions, label: string, sizeOf: () => Promise<string>): Promise<StoreFigures> {
  const gen: GenOptions = { seed: 42, count: n, end: END, days: DAYS, hostsPerRegion: HOSTS_PER_REGION };
  const sampleIds: string[] = [];
  let insertMs = 0;
  let cpuUs = 0;
  let genMs = 0;
  const load0 = loadavg()[0]!;
  let t = process.hrtime.bigint();
  let i = 0;
  for (const batch of generateBatches(gen, o.batch)) {
    const now = process.hrtime.bigint();
    genMs += Number(now - t) / 1e6;
    if (i++ % 7 === 0) sampleIds.push(batch[Math.floor(batch.length / 2)]!.event.id);
    const c0 = process.cpuUsage();
    insertMs += await timeIt(() => store.insertBatch(batch));
    const c = process.cpuUsage(c0);
    cpuUs += c.user + c.system;
    t = process.hrtime.bigint();
    if (i % 200 === 0) process.stderr.write(`  ${label}: ${(i * o.batch).toLocaleString('en-US')} / ${n.toLocaleString('en-US')}\r`);
  }
  process.stderr.write('\n');
  const load = `${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`;
  const rand = mulberry32(99);
  const jobs = Math.max(1, Math.floor(n / 4));
  const corr: number[] = [];
  for (let k = 0; k < 200; k++) {
    const id = `ci-${1 + Math.floor(rand() * jobs)}`;
    corr.push(await timeIt(() => store.query({ correlationId: [id] })));
  }
  const around: number[] = [];
  for (let k = 0; k < 100; k++) {
    const id = sampleIds[Math.floor(rand() * sampleIds.length)]!;
    around.push(
      await timeIt(async () => {
        const a = await store.getById(id);
        await store.around(id, { host: [a!.host] }, { events: 10 }, { events: 10 });
      }),
    );
  }
  // 30 days back from the last event, not hour-aligned (like --since 30d): rollup + two partial edge hours
  const f = { since: END - 30 * 86_400_000 + 1_234_567, until: END - 7_654 };
  const count30d: number[] = [];
  let rows = 0;
  for (let k = 0; k < 7; k++) {
    count30d.push(await timeIt(async () => (rows = (await store.countBy(f, ['hour', 'region'])).length)));
  }
  // baseline: the same count from the events table (afterSeq: 0 makes the rollup inapplicable)
  const count30dRaw = n <= 2_000_000 || store.kind === 'sqlite' ? await timeIt(() => store.countBy({ ...f, afterSeq: 0 }, ['hour', 'region'])) : undefined;
  return {
    store: label,
    events: n,
    ingestS: insertMs / 1000,
    ingestCpuS: cpuUs / 1e6,
    load,
    genS: genMs / 1000,
    sizeNote: await sizeOf(),
    corr,
    around,
    count30d,
    count30dRows: rows,
    ...(count30dRaw !== undefined ? { count30dRaw } : {}),
  };
}

/**
 * Bare-table ingest baselines, the same rows in one transaction per batch, no rollup:
 * - `indexed`: the store's events table with the store's indexes (its migrations minus the two rollup tables), every
 *   column inserted with a plain prepared INSERT OR IGNORE — the target's baseline (issue 23: store ≥ 0.7× of it);
 * - otherwise: id PRIMARY KEY only, no secondary indexes, six columns (the earlier runs' baseline, for comparison).
 */
function sqliteBaseline(path: string, n: number, batch: number, indexed = false): number {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  type Row = { event: Parameters<typeof extractColumns>[0]; raw: string; futureRef?: number };
  let tx: (rows: Row[]) => void;
  if (indexed) {
    for (const m of SQLITE_MIGRATIONS) if (m.version !== 2 && m.version !== 3) db.exec(m.sql); // 2, 3: the rollups
    const ins = db.prepare(
      'INSERT OR IGNORE INTO events (id, ts, type, region, host, pool, outcome, error_code, error_class, keychain, correlation_id, invocation_id, partition_ids, raw, future_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    tx = db.transaction((rows: Row[]) => {
      for (const r of rows) {
        const c = extractColumns(r.event);
        ins.run(c.id, c.ts, c.type, c.region, c.host, c.pool, c.outcome, c.errorCode, c.errorClass, c.keychain, c.correlationId, c.invocationId, c.partitionIds ? JSON.stringify(c.partitionIds) : null, r.raw, r.futureRef ?? null);
      }
    });
  } else {
    db.exec('CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, ts INTEGER, type TEXT, region TEXT, host TEXT, raw TEXT)');
    const ins = db.prepare('INSERT OR IGNORE INTO events (id, ts, type, region, host, raw) VALUES (?, ?, ?, ?, ?, ?)');
    tx = db.transaction((rows: Row[]) => {
      for (const r of rows) {
        const c = extractColumns(r.event);
        ins.run(c.id, c.ts, c.type, c.region, c.host, r.raw);
      }
    });
  }
  let total = 0;
  for (const b of generateBatches({ seed: 42, count: n, end: END, days: DAYS, hostsPerRegion: HOSTS_PER_REGION }, batch)) {
    const t = process.hrtime.bigint();
    tx(b);
    total += Number(process.hrtime.bigint() - t) / 1e6;
  }
  db.close();
  return total / 1000;
}

/**
 * PostgreSQL baseline: the same batches COPY'd (the store's own text encoding) straight into an events table made by
 * the store's migrations in another schema: the same indexes, no staging table, no merge, no rollups.
 */
async function postgresBareCopy(url: string, schema: string, n: number, batch: number): Promise<number> {
  const made = new PostgresEventStore(`${url}${url.includes('?') ? '&' : '?'}schema=${schema}`);
  await made.open();
  await made.close();
  const c = new pg.Client({ connectionString: url, options: `-c search_path=${schema} -c TimeZone=UTC` });
  await c.connect();
  let total = 0;
  try {
    for (const b of generateBatches({ seed: 42, count: n, end: END, days: DAYS, hostsPerRegion: HOSTS_PER_REGION }, batch)) {
      const t = process.hrtime.bigint();
      await copyInto(c, 'events', copyText(b));
      total += Number(process.hrtime.bigint() - t) / 1e6;
    }
  } finally {
    await c.end();
  }
  return total / 1000;
}

/**
 * Same-run ratio, load-fair: the same generated batches go alternately into the store and into its baseline
 * (batch i: baseline then store for even i, store then baseline for odd i), each insert timed on its own, so a
 * load swing on the shared machine hits both sides alike. Returns seconds spent in each.
 */
async function interleaved(n: number, batch: number, store: (b: StoreInput[]) => Promise<unknown>, bare: (b: StoreInput[]) => Promise<unknown>): Promise<{ storeS: number; bareS: number }> {
  let storeMs = 0;
  let bareMs = 0;
  let i = 0;
  for (const b of generateBatches({ seed: 42, count: n, end: END, days: DAYS, hostsPerRegion: HOSTS_PER_REGION }, batch)) {
    const first = i++ % 2 === 0 ? bare : store;
    const second = first === bare ? store : bare;
    const t1 = await timeIt(() => first(b));
    const t2 = await timeIt(() => second(b));
    if (first === bare) {
      bareMs += t1;
      storeMs += t2;
    } else {
      storeMs += t1;
      bareMs += t2;
    }
  }
  return { storeS: storeMs / 1000, bareS: bareMs / 1000 };
}

/** SQLite: the store against a bare table with the store's indexes, interleaved batch by batch (see interleaved). */
async function sqliteInterleaved(dir: string, n: number, batch: number): Promise<{ storeS: number; bareS: number }> {
  const db = new Database(join(dir, 'ab-bare.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  for (const m of SQLITE_MIGRATIONS) if (m.version !== 2 && m.version !== 3) db.exec(m.sql); // 2, 3: the rollups
  const ins = db.prepare(
    'INSERT OR IGNORE INTO events (id, ts, type, region, host, pool, outcome, error_code, error_class, keychain, correlation_id, invocation_id, partition_ids, raw, future_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const tx = db.transaction((rows: StoreInput[]) => {
    for (const r of rows) {
      const c = extractColumns(r.event);
      ins.run(c.id, c.ts, c.type, c.region, c.host, c.pool, c.outcome, c.errorCode, c.errorClass, c.keychain, c.correlationId, c.invocationId, c.partitionIds ? JSON.stringify(c.partitionIds) : null, r.raw, r.futureRef ?? null);
    }
  });
  const store = new SqliteEventStore(join(dir, 'ab-store.db'), { cacheMiB: 256 });
  await store.open();
  try {
    return await interleaved(n, batch, (b) => store.insertBatch(b), (b) => Promise.resolve(tx(b)));
  } finally {
    await store.close();
    db.close();
    for (const f of ['ab-bare.db', 'ab-store.db']) for (const x of ['', '-wal', '-shm']) rmSync(join(dir, f + x), { force: true });
  }
}

/** PostgreSQL: the store against a bare COPY into an identical events table, interleaved batch by batch. */
async function postgresInterleaved(url: string, schema: string, n: number, batch: number): Promise<{ storeS: number; bareS: number }> {
  const sep = url.includes('?') ? '&' : '?';
  const made = new PostgresEventStore(`${url}${sep}schema=${schema}_abbare`);
  await made.open();
  await made.close();
  const store = new PostgresEventStore(`${url}${sep}schema=${schema}_abstore`);
  await store.open();
  const c = new pg.Client({ connectionString: url, options: `-c search_path=${schema}_abbare -c TimeZone=UTC` });
  await c.connect();
  try {
    return await interleaved(n, batch, (b) => store.insertBatch(b), (b) => copyInto(c, 'events', copyText(b)));
  } finally {
    await c.end();
    await store.close();
  }
}

/** CPU seconds (user + system) of a local PostgreSQL backend, from /proc; undefined when it cannot be read (remote server). */
function backendCpuS(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in USER_HZ (100 on Linux)
  } catch {
    return undefined;
  }
}

/** Sum of backendCpuS over the database's backends whose application_name is `app`. */
async function appCpuS(admin: pg.Client, app: string): Promise<Map<number, number | undefined>> {
  const r = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [app]);
  return new Map(r.rows.map((x) => [x.pid, backendCpuS(x.pid)]));
}

function cpuDelta(before: Map<number, number | undefined>, after: Map<number, number | undefined>): number | undefined {
  let total = 0;
  for (const [pid, cpu] of after) {
    if (cpu === undefined) return undefined;
    total += cpu - (before.get(pid) ?? 0); // a backend started during the run counts from 0 (its start-up is ~ms)
  }
  return total;
}

interface WriterRun {
  side: 'store' | 'bare';
  wallS: number;
  serverCpuS: number | undefined;
  clientCpuS: number;
  load: number;
}

/**
 * `writers` concurrent writers, each taking the next batch as soon as its previous one committed (the store writer's
 * partitionsConsumedConcurrently), into the store (its pool of `writers` connections) and, alternately in the same
 * run (store, bare, bare, store, …), bare COPYs (the same copyText encoding, timed) into an identical table on
 * `writers` connections. Batches are generated before the clock starts, spread over `days` (30 like the rest of the
 * bench; a shorter span gives the rollups the density of a real stream: fewer groups per batch). Server CPU: the backends' CPU time
 * from /proc (local server only). Each round uses fresh schemas, so both sides start from an empty table.
 */
async function postgresWriters(url: string, schema: string, n: number, batch: number, writers: number, rounds: number, days: number): Promise<WriterRun[]> {
  const sep = url.includes('?') ? '&' : '?';
  const batches = [...generateBatches({ seed: 42, count: n, end: END, days, hostsPerRegion: HOSTS_PER_REGION }, batch)];
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const out: WriterRun[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      for (const side of r % 2 === 0 ? (['store', 'bare'] as const) : (['bare', 'store'] as const)) {
        const sch = `${schema}_w${r}${side}`;
        const app = `sw-bench-${process.pid}-${sch}`;
        const store = new PostgresEventStore(`${url}${sep}schema=${sch}&application_name=${app}`, { max: writers });
        await store.open();
        const clients: pg.Client[] = [];
        if (side === 'bare') {
          await store.close();
          for (let w = 0; w < writers; w++) {
            const c = new pg.Client({ connectionString: url, application_name: app, options: `-c search_path=${sch} -c TimeZone=UTC` });
            await c.connect();
            clients.push(c);
          }
        }
        try {
          const cpu0 = await appCpuS(admin, app);
          const u0 = process.cpuUsage();
          const t0 = process.hrtime.bigint();
          let next = 0;
          await Promise.all(
            Array.from({ length: writers }, async (_, w) => {
              for (let i = next++; i < batches.length; i = next++) {
                if (side === 'store') await store.insertBatch(batches[i]!);
                else await copyInto(clients[w]!, 'events', copyText(batches[i]!));
              }
            }),
          );
          const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
          const u = process.cpuUsage(u0);
          const serverCpuS = cpuDelta(cpu0, await appCpuS(admin, app));
          out.push({ side, wallS, serverCpuS, clientCpuS: (u.user + u.system) / 1e6, load: loadavg()[0]! });
          process.stderr.write(`  writers=${writers} round ${r} ${side}: ${rate(n, wallS)}, server ${serverCpuS?.toFixed(2) ?? '?'} CPU-s\n`);
        } finally {
          for (const c of clients) await c.end();
          if (side === 'store') await store.close();
          await admin.query(`DROP SCHEMA IF EXISTS ${sch} CASCADE`);
        }
      }
    }
  } finally {
    await admin.end();
  }
  return out;
}

function writersSection(n: number, writers: number, days: number, runs: WriterRun[]): string {
  const lines = [
    '',
    `PostgreSQL, ${writers} concurrent writer(s), ${n.toLocaleString('en-US')} events over ${days} day(s) per run, store and bare COPY alternating (batches pre-generated; server CPU = the writers' backends, from /proc):`,
    '',
    '| round | side | wall rate | server CPU-s | events per server CPU-second | client CPU-s | 1-min load after |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  runs.forEach((x, i) =>
    lines.push(
      `| ${Math.floor(i / 2)} | ${x.side} | ${rate(n, x.wallS)} | ${x.serverCpuS?.toFixed(2) ?? 'n/a'} | ${x.serverCpuS ? rate(n, x.serverCpuS) : 'n/a'} | ${x.clientCpuS.toFixed(2)} | ${x.load.toFixed(1)} |`,
    ),
  );
  const sum = (side: 'store' | 'bare', f: (x: WriterRun) => number | undefined) => runs.filter((x) => x.side === side).reduce((a, x) => a + (f(x) ?? NaN), 0);
  const wall = sum('bare', (x) => x.wallS) / sum('store', (x) => x.wallS);
  const cpu = sum('bare', (x) => x.serverCpuS) / sum('store', (x) => x.serverCpuS);
  lines.push('', `Store / bare: **${wall.toFixed(2)}×** by wall rate, **${Number.isNaN(cpu) ? 'n/a' : cpu.toFixed(2)}×** by events per server CPU-second (sums over the rounds).`, '');
  return lines.join('\n');
}

function fileSize(path: string): string {
  let bytes = 0;
  for (const p of [path, `${path}-wal`]) {
    try {
      bytes += statSync(p).size;
    } catch {
      /* absent */
    }
  }
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB on disk`;
}

function section(o: QueryBenchOptions, figs: StoreFigures[], baseline: { n: number; s: number } | undefined, cmd: string, pgBare?: { n: number; s: number }, indexed?: { n: number; s: number }): string {
  const lines: string[] = [];
  lines.push('## Event store (services/query)', '');
  lines.push(`Command: \`${cmd}\``);
  lines.push(
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM (shared with other engineers' work), Node ${process.version}.`,
  );
  lines.push(
    `Data: bench/query-gen.ts seed 42, ${DAYS} days ending ${new Date(END).toISOString()}, 5 regions × ${HOSTS_PER_REGION} hosts, ~4 events per CI job, batches of ${o.batch}. Ingest time counts only insertBatch (event generation timed separately).`,
    '',
  );
  lines.push('| store | events | ingest (wall) | ingest per CPU-second of the writer | load avg (1 min) start → end | generation (excluded) | size | correlation-id lookup p50 / p95 / max | --around ±10 (same host) p50 / p95 / max | 30-day --count-by hour,region median (rows) |');
  lines.push('| --- | ---: | ---: | ---: | --- | ---: | --- | --- | --- | --- |');
  for (const f of figs) {
    lines.push(
      `| ${f.store} | ${f.events.toLocaleString('en-US')} | ${rate(f.events, f.ingestS)} (${f.ingestS.toFixed(1)} s) | ${rate(f.events, f.ingestCpuS)} | ${f.load} | ${f.genS.toFixed(1)} s | ${f.sizeNote} | ${ms(quantile(f.corr, 0.5))} / ${ms(quantile(f.corr, 0.95))} / ${ms(Math.max(...f.corr))} | ${ms(quantile(f.around, 0.5))} / ${ms(quantile(f.around, 0.95))} / ${ms(Math.max(...f.around))} | ${ms(quantile(f.count30d, 0.5))} (${f.count30dRows}) |`,
    );
  }
  lines.push('');
  lines.push('Baselines (same run):');
  const lite = figs.find((f) => f.store === 'sqlite');
  if (baseline && lite) {
    const full = lite.events / lite.ingestS;
    const bare = baseline.n / baseline.s;
    lines.push(
      `- SQLite bare table (id key only, no secondary indexes/rollup), first ${baseline.n.toLocaleString('en-US')} events: ${rate(baseline.n, baseline.s)}; the full store ingests at ${(full / bare).toFixed(2)}× that rate.`,
    );
    if (indexed) {
      lines.push(
        `- SQLite bare table with the store's indexes (plain INSERT OR IGNORE, no rollup), first ${indexed.n.toLocaleString('en-US')} events: ${rate(indexed.n, indexed.s)}; the full store ingests at **${(full / (indexed.n / indexed.s)).toFixed(2)}×** that rate (target ≥ 0.7×).`,
      );
    }
  }
  const pgFig = figs.find((f) => f.store === 'postgres');
  if (pgBare && pgFig) {
    lines.push(
      `- PostgreSQL bare \`COPY\` of the same rows into an identical events table (same indexes; no staging, merge or rollup), ${pgBare.n.toLocaleString('en-US')} events: ${rate(pgBare.n, pgBare.s)}; the store (COPY → staging → idempotent merge + rollups) ingests at ${(pgFig.events / pgFig.ingestS / (pgBare.n / pgBare.s)).toFixed(2)}× that rate.`,
    );
  }
  for (const f of figs) {
    if (f.count30dRaw !== undefined) {
      lines.push(
        `- ${f.store}: the same 30-day count from the events table (no rollup): ${ms(f.count30dRaw)}; rollup is ${(f.count30dRaw / quantile(f.count30d, 0.5)).toFixed(0)}× faster.`,
      );
    }
  }
  if (lite) {
    const ok = (b: boolean) => (b ? 'met' : '**missed**');
    lines.push('', 'Targets on SQLite:');
    lines.push(
      `- ingest ≥ 100 k events/s batched: ${ok(lite.events / lite.ingestS >= 100_000)} on wall time (${rate(lite.events, lite.ingestS)}); per CPU-second of the writer ${rate(lite.events, lite.ingestCpuS)} (PostgreSQL: server CPU is not counted there)`,
    );
    lines.push(`- point lookups ≤ 20 ms: ${ok(quantile(lite.corr, 0.95) <= 20 && quantile(lite.around, 0.95) <= 20)} (p95 correlation ${ms(quantile(lite.corr, 0.95))}, p95 around ${ms(quantile(lite.around, 0.95))})`);
    lines.push(`- 30-day hourly counts ≤ 500 ms: ${ok(quantile(lite.count30d, 0.5) <= 500)} (${ms(quantile(lite.count30d, 0.5))})`);
  }
  return `${lines.join('\n')}\n`;
}

export async function runQueryBench(o: QueryBenchOptions, cmd: string): Promise<string> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'sw-bench-query-'));
  const figs: StoreFigures[] = [];
  let baseline: { n: number; s: number } | undefined;
  let pgBare: { n: number; s: number } | undefined;
  let indexedBaseline: { n: number; s: number } | undefined;
  let sqliteAB: { storeS: number; bareS: number } | undefined;
  let pgAB: { storeS: number; bareS: number } | undefined;
  let pgWriters: WriterRun[] | undefined;
  const schema = `sw_bench_${process.pid}_${Date.now().toString(36)}`;
  try {
    if (o.stores.includes('sqlite')) {
      const bn = Math.min(o.events, 1_000_000);
      process.stderr.write(`query bench: sqlite baseline (${bn} events)\n`);
      baseline = { n: bn, s: sqliteBaseline(join(dir, 'baseline.db'), bn, o.batch) };
      for (const f of ['baseline.db', 'baseline.db-wal', 'baseline.db-shm']) rmSync(join(dir, f), { force: true });
      process.stderr.write(`query bench: sqlite baseline with the store's indexes (${bn} events)\n`);
      indexedBaseline = { n: bn, s: sqliteBaseline(join(dir, 'baseline.db'), bn, o.batch, true) };
      for (const f of ['baseline.db', 'baseline.db-wal', 'baseline.db-shm']) rmSync(join(dir, f), { force: true });
      process.stderr.write(`query bench: sqlite store vs bare indexed table, interleaved (${bn} events)\n`);
      sqliteAB = await sqliteInterleaved(dir, bn, o.batch);
      const path = join(dir, 'events.db');
      const store = new SqliteEventStore(path, { cacheMiB: 256 });
      await store.open();
      try {
        figs.push(await benchStore(store, o.events, o, 'sqlite', () => Promise.resolve(fileSize(path))));
      } finally {
        await store.close();
      }
    }
    if (o.stores.includes('postgres') && o.pgEvents > 0 && (o.pgWriters ?? 0) > 0) {
      process.stderr.write(`query bench: postgres store vs bare COPY, ${o.pgWriters} writer(s) (${o.pgEvents} events)\n`);
      pgWriters = await postgresWriters(o.pgUrl, schema, o.pgEvents, o.batch, o.pgWriters!, o.pgRounds ?? 2, o.pgDays ?? DAYS);
    }
    if (o.stores.includes('postgres') && o.pgEvents > 0 && !o.pgWritersOnly) {
      process.stderr.write(`query bench: postgres bare COPY baseline (${o.pgEvents} events)\n`);
      pgBare = { n: o.pgEvents, s: await postgresBareCopy(o.pgUrl, `${schema}_bare`, o.pgEvents, o.batch) };
      process.stderr.write(`query bench: postgres store vs bare COPY, interleaved (${o.pgEvents} events)\n`);
      pgAB = await postgresInterleaved(o.pgUrl, schema, o.pgEvents, o.batch);
      const store = new PostgresEventStore(`${o.pgUrl}${o.pgUrl.includes('?') ? '&' : '?'}schema=${schema}`);
      await store.open();
      const size = async () => {
        const c = new pg.Client({ connectionString: o.pgUrl });
        await c.connect();
        try {
          const r = await c.query<{ b: string }>(
            "SELECT sum(pg_total_relation_size(format('%I.%I', schemaname, tablename)))::text AS b FROM pg_tables WHERE schemaname = $1",
            [schema],
          );
          return `${(Number(r.rows[0]?.b ?? 0) / 1024 ** 3).toFixed(2)} GiB in PostgreSQL`;
        } finally {
          await c.end();
        }
      };
      try {
        figs.push(await benchStore(store, o.pgEvents, o, 'postgres', size));
      } finally {
        await store.close();
      }
    }
  } finally {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
    if (o.stores.includes('postgres')) {
      const c = new pg.Client({ connectionString: o.pgUrl });
      await c.connect().then(
        () => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${schema}_bare CASCADE; DROP SCHEMA IF EXISTS ${schema}_abbare CASCADE; DROP SCHEMA IF EXISTS ${schema}_abstore CASCADE`).finally(() => c.end()),
        () => undefined,
      );
    }
  }
  const ab = (label: string, n: number, r: { storeS: number; bareS: number } | undefined) =>
    r ? `- ${label}, interleaved batch by batch (${n.toLocaleString('en-US')} events each side): store ${rate(n, r.storeS)}, baseline ${rate(n, r.bareS)}: store = **${(r.bareS / r.storeS).toFixed(2)}×** the baseline.\n` : '';
  return (
    (figs.length ? section(o, figs, baseline, cmd, pgBare, indexedBaseline) : `Command: \`${cmd}\`\n`) +
    ab('SQLite store vs a bare table with the store\'s indexes', Math.min(o.events, 1_000_000), sqliteAB) +
    ab('PostgreSQL store (COPY into events, idempotent by id, + rollups) vs a bare COPY into an identical table', o.pgEvents, pgAB) +
    (pgWriters ? writersSection(o.pgEvents, o.pgWriters!, o.pgDays ?? DAYS, pgWriters) : '')
  );
}

/** `npm run bench` entry: small by default; sizes from the environment. */
export async function run(): Promise<string> {
  const events = Number(process.env.SIGNWATCH_BENCH_QUERY_EVENTS ?? 200_000);
  const pgEvents = Number(process.env.SIGNWATCH_BENCH_QUERY_PG_EVENTS ?? 100_000);
  return runQueryBench(
    { events, pgEvents, batch: 5000, stores: ['sqlite', 'postgres'], pgUrl: process.env.SIGNWATCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test', keep: false },
    `SIGNWATCH_BENCH_QUERY_EVENTS=${events} SIGNWATCH_BENCH_QUERY_PG_EVENTS=${pgEvents} npm run bench`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '200000' },
      'pg-events': { type: 'string', default: '100000' },
      batch: { type: 'string', default: '5000' },
      dir: { type: 'string' },
      stores: { type: 'string', default: 'sqlite,postgres' },
      keep: { type: 'boolean', default: false },
      'pg-writers': { type: 'string', default: '0' },
      'pg-rounds': { type: 'string', default: '2' },
      'pg-writers-only': { type: 'boolean', default: false },
      'pg-days': { type: 'string', default: String(DAYS) },
    },
  });
  const num = (name: string, v: string) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < 0) throw new Error(`--${name}: "${v}" is not a non-negative integer`);
    return x;
  };
  const positive = (name: string, v: string) => {
    const x = Number(v);
    if (!(x > 0)) throw new Error(`--${name}: "${v}" is not a positive number`);
    return x;
  };
  const stores = values.stores.split(',').map((s) => s.trim());
  for (const s of stores) if (s !== 'sqlite' && s !== 'postgres') throw new Error(`--stores: unknown store "${s}"`);
  const o: QueryBenchOptions = {
    events: num('events', values.events),
    pgEvents: num('pg-events', values['pg-events']),
    batch: Math.max(1, num('batch', values.batch)),
    ...(values.dir ? { dir: values.dir } : {}),
    stores: stores as QueryBenchOptions['stores'],
    pgUrl: process.env.SIGNWATCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    keep: values.keep,
    pgWriters: num('pg-writers', values['pg-writers']),
    pgRounds: Math.max(1, num('pg-rounds', values['pg-rounds'])),
    pgWritersOnly: values['pg-writers-only'],
    pgDays: positive('pg-days', values['pg-days']),
  };
  process.stdout.write(await runQueryBench(o, `node dist/bench/query.js ${process.argv.slice(2).join(' ')}`));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}
