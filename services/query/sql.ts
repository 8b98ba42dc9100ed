/**
 * SQL shared by both stores: the WHERE clause built from QueryFilters (every value a bound parameter, never
 * text spliced into SQL), and the plan that answers `--count-by` from the hourly rollup for whole hours and
 * from the events table for the partial hours at the edges of the range.
 */
import type { CountKey, CountRow, QueryFilters, StoredEvent } from './store.js';
import type { EventType, Region } from '../../schemas/events.js';

export const HOUR_MS = 3_600_000;

/** How one SQL dialect writes parameters and the few expressions that differ. */
export interface Dialect {
  /** Placeholder for the next parameter ("?" or "$3"); pushes the value. */
  param(params: unknown[], value: unknown): string;
  /** Placeholder for a time bound in ms. */
  time(params: unknown[], ms: number): string;
  /** SQL true when the event's partition_ids contain any of the values. */
  partitionAny(params: unknown[], values: readonly string[]): string;
}

function inList(d: Dialect, params: unknown[], column: string, values: readonly string[]): string {
  if (values.length === 1) return `${column} = ${d.param(params, values[0])}`;
  return `${column} IN (${values.map((v) => d.param(params, v)).join(', ')})`;
}

/** Column behind each list filter. */
const LIST_COLUMNS = {
  region: 'region',
  host: 'host',
  type: 'type',
  outcome: 'outcome',
  error: 'error_code',
  keychain: 'keychain',
  correlationId: 'correlation_id',
  invocationId: 'invocation_id',
} as const satisfies Partial<Record<keyof QueryFilters, string>>;

/** Conditions (joined with AND by the caller) for `filters` on the events table. */
export function whereClauses(d: Dialect, params: unknown[], f: QueryFilters, tsColumn = 'ts'): string[] {
  const out: string[] = [];
  if (f.since !== undefined) out.push(`${tsColumn} >= ${d.time(params, f.since)}`);
  if (f.until !== undefined) out.push(`${tsColumn} < ${d.time(params, f.until)}`);
  for (const [key, column] of Object.entries(LIST_COLUMNS) as [keyof typeof LIST_COLUMNS, string][]) {
    const values = f[key];
    if (values && values.length) out.push(inList(d, params, column, values));
  }
  if (f.partition && f.partition.length) out.push(d.partitionAny(params, f.partition));
  if (f.flag?.includes('future')) out.push('future_ref IS NOT NULL');
  if (f.afterSeq !== undefined) out.push(`seq > ${d.param(params, f.afterSeq)}`);
  return out;
}

export function whereSql(clauses: string[]): string {
  return clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
}

/** Filters the hourly rollup can answer (it has no keychain, partition, correlation, invocation, flag or seq). */
export function rollupCanAnswer(f: QueryFilters): boolean {
  return !(f.keychain?.length || f.partition?.length || f.correlationId?.length || f.invocationId?.length || f.flag?.length || f.afterSeq !== undefined);
}

/**
 * Which rollup answers the whole hours: `hourly_region_counts` (no host column: ~hosts-per-region times fewer
 * rows) unless the host is a key or a filter.
 */
export function rollupTable(f: QueryFilters, keys: readonly CountKey[]): 'hourly_counts' | 'hourly_region_counts' {
  return keys.includes('host') || f.host?.length ? 'hourly_counts' : 'hourly_region_counts';
}

export interface CountPlan {
  /** Whole hours [from, to) answered by the rollup; undefined when the rollup is not used. */
  rollup?: { from: number | undefined; to: number | undefined };
  /** Ranges answered by the events table. */
  raw: { since: number | undefined; until: number | undefined }[];
}

/** Split [since, until) into whole hours (rollup) and the partial hours at its edges (events table). */
export function planCount(f: QueryFilters): CountPlan {
  if (!rollupCanAnswer(f)) return { raw: [{ since: f.since, until: f.until }] };
  const from = f.since === undefined ? undefined : Math.ceil(f.since / HOUR_MS) * HOUR_MS;
  const to = f.until === undefined ? undefined : Math.floor(f.until / HOUR_MS) * HOUR_MS;
  if (from !== undefined && to !== undefined && from >= to) return { raw: [{ since: f.since, until: f.until }] };
  const raw: CountPlan['raw'] = [];
  if (f.since !== undefined && from !== f.since) raw.push({ since: f.since, until: from });
  if (f.until !== undefined && to !== f.until) raw.push({ since: to, until: f.until });
  return { rollup: { from, to }, raw };
}

/** Sum rows with equal keys and sort them by the keys in order (nulls first). */
export function mergeCounts(keys: readonly CountKey[], parts: CountRow[][]): CountRow[] {
  const map = new Map<string, CountRow>();
  for (const rows of parts) {
    for (const r of rows) {
      const k = JSON.stringify(keys.map((key) => r[key] ?? null));
      const prev = map.get(k);
      if (prev) prev.count += r.count;
      else map.set(k, { ...r });
    }
  }
  const out = [...map.values()].filter((r) => r.count > 0);
  out.sort((a, b) => {
    for (const key of keys) {
      const x = a[key] ?? null;
      const y = b[key] ?? null;
      if (x === y) continue;
      if (x === null) return -1;
      if (y === null) return 1;
      if (typeof x === 'number' && typeof y === 'number') return x - y;
      return String(x) < String(y) ? -1 : 1;
    }
    return 0;
  });
  return out;
}

/** Row from SQL (snake/alias names, hour maybe a string from pg) → CountRow with exactly `keys`. */
export function toCountRow(keys: readonly CountKey[], r: Record<string, unknown>, emptyIsNull: boolean): CountRow {
  const row: CountRow = { count: Number(r.count) };
  for (const key of keys) {
    const v = r[key];
    if (key === 'hour') row.hour = Number(v);
    else {
      const s = v === null || v === undefined || (emptyIsNull && v === '') ? null : typeof v === 'string' ? v : JSON.stringify(v);
      (row as unknown as Record<string, string | null>)[key] = s;
    }
  }
  return row;
}

/** A row of the events table as both stores select it (SELECT_COLUMNS); pg returns BIGINT seq as a string. */
export interface EventRow {
  seq: number | string;
  id: string;
  ts: number;
  type: string;
  region: string;
  host: string;
  outcome: string | null;
  error_code: string | null;
  keychain: string | null;
  correlation_id: string | null;
  invocation_id: string | null;
  future_ref: number | string | null;
  raw: string;
}

export function rowToEvent(r: EventRow): StoredEvent {
  return {
    seq: Number(r.seq),
    id: r.id,
    ts: r.ts,
    type: r.type as EventType,
    region: r.region as Region,
    host: r.host,
    outcome: r.outcome,
    errorCode: r.error_code,
    keychain: r.keychain,
    futureRef: r.future_ref === null || r.future_ref === undefined ? null : Number(r.future_ref),
    correlationId: r.correlation_id,
    invocationId: r.invocation_id,
    raw: r.raw,
  };
}
