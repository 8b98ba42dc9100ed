/**
 * The event store: every valid event signwatch accepted, kept for `retention` (default 30 days), queried by
 * `signwatch query`, the query HTTP API and Grafana's PostgreSQL panel.
 *
 * Two implementations behind this one interface:
 *   - SqliteEventStore   (`sqlite:PATH`, the embedded default; better-sqlite3@12, WAL, one transaction per batch)
 *   - PostgresEventStore (`postgres://…`, for teams that share one store; pg pool)
 * Open one with `openStore(spec)` from services/query/open-store.ts.
 *
 * ## Writing (the processor's store sink, `signwatch store import`)
 *
 *     const store = await openStore('sqlite:/var/lib/signwatch/events.db');   // opens + migrates
 *     const added = await store.insertBatch([{ event, raw }, …]);              // event: validated SignEvent,
 *                                                                              // raw: its JSON text as received
 *     await store.close();
 *
 * `insertBatch` is idempotent by `event.id`: an id already in the store (or twice in the same batch) is skipped,
 * so replays, Kafka redeliveries and re-imports add nothing. It returns how many events were new. The whole
 * batch is one transaction (all or nothing); a failure rejects with a StoreError whose `retryable` flag says
 * whether retrying the same batch can help (connection lost, database busy) or not (bad input, full disk…).
 * Batches of 500–5000 events are the sweet spot; an empty batch is a no-op that returns 0.
 * `raw` is what queries give back (`--output json|ndjson` print it unchanged), so pass the text you validated.
 *
 * ## Lifecycle
 * - `open()` connects, creates the schema and applies pending migrations (versioned, see `migrations`),
 *   idempotent: calling it twice is harmless. Every other method (except close) requires open().
 * - `close()` releases the file/connections; idempotent, and works when open() was never called.
 * - Retention: `sweep()` deletes at most one small batch of events older than `now - retention` and returns how
 *   many it deleted; call it until it returns 0 (RetentionSweeper in retention.ts does that on a timer, one
 *   short transaction at a time, so ingestion is never blocked behind a long delete).
 *
 * ## Reading
 * All reads use the same normalised filters (QueryFilters, built from the shared zod request schema in
 * filters.ts by the CLI and by the HTTP API). Filter values are bound parameters, never SQL text: a host named
 * `x' OR 1=1; --` or an error code `%_` matches only itself. Order is (ts, id) ascending unless `order: 'desc'`.
 * Time ranges are half-open: since <= ts < until.
 */
import { CodedError } from '../platform/errors.js';
import { toMs, type TimestampParser } from '../engine/time.js';
import type { EventType, Region, SignEvent } from '../../schemas/events.js';

/** Flags the store keeps on an event. */
export const EVENT_FLAGS = ['future'] as const;
export type EventFlag = (typeof EVENT_FLAGS)[number];

/** One event to store: the validated event and its JSON text. */
export interface StoreInput {
  event: SignEvent;
  raw: string;
  /**
   * Set when the event was stamped more than the policy's maxFutureSkew ahead of its record's reference time (the
   * broker's append time): that reference, ms. The processor dead-lettered it as future_timestamp; the store keeps it
   * for postmortems, flagged (docs/engine.md, "Bounded event time").
   */
  futureRef?: number;
}

/** One stored event as queries return it. */
export interface StoredEvent {
  /** Insertion sequence number, strictly increasing per store: the `--follow` cursor. */
  seq: number;
  id: string;
  /** Event time, ms since the epoch (UTC). */
  ts: number;
  type: EventType;
  region: Region;
  host: string;
  outcome: string | null;
  errorCode: string | null;
  keychain: string | null;
  /** The record's reference time (ms) when the event was stamped beyond it + maxFutureSkew (a `future_timestamp`). */
  futureRef: number | null;
  correlationId: string | null;
  invocationId: string | null;
  /** The event's JSON as it was received. */
  raw: string;
}

/** Normalised query filters. Every list means "any of"; absent means "no constraint". */
export interface QueryFilters {
  /** Inclusive lower bound on event time (ms). */
  since?: number;
  /** Exclusive upper bound on event time (ms). */
  until?: number;
  region?: readonly Region[];
  host?: readonly string[];
  type?: readonly EventType[];
  outcome?: readonly string[];
  /** Error code (`error.code`), e.g. errSecInternalComponent. */
  error?: readonly string[];
  keychain?: readonly string[];
  /** The event's partitionIds contains one of these. */
  partition?: readonly string[];
  correlationId?: readonly string[];
  invocationId?: readonly string[];
  /** Only events with one of these flags (`future`: stamped beyond the record's time + maxFutureSkew). */
  flag?: readonly EventFlag[];
  /** Only events stored after this sequence number (`--follow`). */
  afterSeq?: number;
}

export interface ListOptions {
  /** Maximum number of events returned (default 1000, at most 100 000). */
  limit?: number;
  order?: 'asc' | 'desc';
  /** Order by insertion sequence instead of event time (used by --follow). */
  bySeq?: boolean;
}

/** grep -B/-A context: a number of events, or a time span in ms. */
export type Context = { events: number } | { ms: number };

export interface AroundResult {
  anchor: StoredEvent;
  /** Matching events just before the anchor (oldest first), then the anchor, then those just after. */
  events: StoredEvent[];
  /** Whether the limit left out context events (the farthest from the anchor go first). */
  truncated?: boolean;
}

/**
 * The one rule for --around's limit, for every store: anchor + before + after ≤ limit (≤ MAX_LIMIT). Each side
 * was read with at most limit - 1 rows; when both do not fit, each keeps at least half the room (a side that
 * needs less gives the rest to the other), and the events farthest from the anchor are the ones left out.
 * `before` is oldest first, `after` oldest first.
 */
export function fitAround(anchor: StoredEvent, before: StoredEvent[], after: StoredEvent[], limit: number): AroundResult {
  const room = Math.max(0, Math.min(limit, MAX_LIMIT) - 1);
  if (before.length + after.length <= room) return { anchor, events: [...before, anchor, ...after] };
  const half = Math.floor(room / 2);
  const nb = Math.min(before.length, Math.max(half, room - after.length));
  const na = Math.min(after.length, room - nb);
  return { anchor, events: [...before.slice(before.length - nb), anchor, ...after.slice(0, na)], truncated: true };
}

/** Rows each side of --around reads: its own context, never more than the whole answer may hold. */
export function aroundSideLimit(ctx: Context, limit: number): number {
  const room = Math.max(0, Math.min(limit, MAX_LIMIT) - 1);
  return 'events' in ctx ? Math.min(ctx.events, room) : room;
}

export const COUNT_KEYS = ['hour', 'region', 'host', 'type', 'outcome', 'error'] as const;
export type CountKey = (typeof COUNT_KEYS)[number];

/** One row of `--count-by`: the requested keys (hour as ms of the hour's start, UTC) and the count. */
export interface CountRow {
  hour?: number;
  region?: string;
  host?: string;
  type?: string;
  outcome?: string | null;
  error?: string | null;
  count: number;
}

export interface SweepOptions {
  /** Clock (ms); default Date.now(). */
  now?: number;
  /** Rows deleted per call (default 2000): small, so a sweep never holds the writer for long. */
  batchSize?: number;
}

export interface StoreStats {
  events: number;
  oldestTs: number | null;
  newestTs: number | null;
  schemaVersion: number;
}

export interface EventStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Retention in ms (default 30 days). */
  readonly retentionMs: number;
  open(): Promise<void>;
  insertBatch(events: readonly StoreInput[]): Promise<number>;
  query(filters: QueryFilters, options?: ListOptions): Promise<StoredEvent[]>;
  getById(id: string): Promise<StoredEvent | null>;
  /** The anchor event plus context among events matching `filters`; null when the id is unknown. */
  /** At most `limit` events in all (default DEFAULT_LIMIT, capped at MAX_LIMIT), the anchor included: see fitAround. */
  around(id: string, filters: QueryFilters, before: Context, after: Context, limit?: number): Promise<AroundResult | null>;
  /** Counts of matching events grouped by `keys` (in that order), sorted by the keys. */
  countBy(filters: QueryFilters, keys: readonly CountKey[]): Promise<CountRow[]>;
  sweep(options?: SweepOptions): Promise<number>;
  stats(): Promise<StoreStats>;
  close(): Promise<void>;
}

export const DEFAULT_RETENTION_MS = 30 * 86_400_000;
export const DEFAULT_LIMIT = 1000;
export const MAX_LIMIT = 100_000;

/** Coded store errors: retries look only at `retryable`. */
export class StoreError extends CodedError {}

/** The columns every implementation extracts from an event (the rest stays in `raw`). */
export interface EventColumns {
  id: string;
  ts: number;
  type: EventType;
  region: Region;
  host: string;
  pool: string;
  outcome: string | null;
  errorCode: string | null;
  errorClass: string | null;
  keychain: string | null;
  correlationId: string | null;
  invocationId: string | null;
  partitionIds: string[] | null;
}

interface OptionalFields {
  outcome?: string;
  keychain?: string;
  invocationId?: string;
  partitionIds?: string[];
  error?: { code?: string; class?: string };
}

/** The columns of an event; `time` is the caller's parser (a store's ingest path keeps one). */
export function extractColumns(e: SignEvent, time?: TimestampParser): EventColumns {
  const any = e as unknown as OptionalFields;
  return {
    id: e.id,
    ts: time ? time.toMs(e.ts) : toMs(e.ts),
    type: e.type,
    region: e.region,
    host: e.host,
    pool: e.pool,
    outcome: any.outcome ?? null,
    errorCode: any.error?.code ?? null,
    errorClass: any.error?.class ?? null,
    keychain: any.keychain ?? null,
    correlationId: e.correlationId ?? null,
    invocationId: any.invocationId ?? null,
    partitionIds: any.partitionIds ?? null,
  };
}
