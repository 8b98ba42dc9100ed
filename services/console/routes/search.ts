/**
 * The Search page's API: GET /api/search?FILTERS — the `signwatch query` filters as query parameters, validated by
 * the query module's own schema (services/query/filters.ts parseQuery, the same names as the flags and the query
 * HTTP API) and answered by the event store's own methods (query / around / countBy: no SQL here). One answer holds
 * the events (at most `limit`, with `more` when the limit cut them short: one more row is read to know) and, with
 * `count-by`, the counts. Needs `signwatch console --store SPEC`; without a store it answers 404 saying so.
 * At most MAX_IN_FLIGHT searches run at once (one more: 503 SW_QUERY_BUSY, Retry-After: 1).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendError } from '../../platform/http.js';
import { FILTER_KEYS, parseQuery, type RawQuery } from '../../query/filters.js';
import { eventMessage } from '../../query/format.js';
import { MAX_LIMIT, type EventStore, type StoredEvent } from '../../query/store.js';
import type { WireEventRow, WireSearch } from '../pages-wire.js';

export const MAX_IN_FLIGHT = 4;

/** Query-string values as the schema takes them (strings or repeated strings); anything else is dropped. */
export function rawQuery(q: unknown): RawQuery {
  const out = Object.create(null) as RawQuery;
  for (const [k, v] of Object.entries((q ?? {}) as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) out[k] = v;
  }
  return out;
}

/** The raw query in FILTER_KEYS order, empty values left out: the canonical, pasteable query string. */
export function canonicalQuery(raw: RawQuery): URLSearchParams {
  const p = new URLSearchParams();
  for (const k of FILTER_KEYS) {
    const v = raw[k];
    for (const x of v === undefined ? [] : Array.isArray(v) ? v : [v]) if (x !== '') p.append(k, x);
  }
  return p;
}

const SAFE = /^[A-Za-z0-9._:/=,@+%-]+$/;
/** POSIX shell single-quoting, only when needed. */
export function shellWord(s: string): string {
  return SAFE.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The query string as a `signwatch query` command line (flags = parameter names). */
export function queryCommand(p: URLSearchParams): string {
  const words = ['signwatch', 'query'];
  for (const [k, v] of p) words.push(`--${k}`, shellWord(v));
  return words.join(' ');
}

export function eventRow(e: StoredEvent, anchorId?: string): WireEventRow {
  const row: WireEventRow = {
    id: e.id,
    time: new Date(e.ts).toISOString(),
    region: e.region,
    host: e.host,
    type: e.type,
    outcome: e.outcome ?? '',
    error: e.errorCode ?? '',
    keychain: e.keychain ?? '',
    correlationId: e.correlationId ?? '',
    invocationId: e.invocationId ?? '',
    message: eventMessage(e).slice(0, 500),
  };
  if (anchorId !== undefined && e.id === anchorId) row.anchor = true;
  return row;
}

export interface SearchRouteOptions {
  store?: EventStore | undefined;
  now?: () => number;
}

export function registerSearchRoutes(app: FastifyInstance, o: SearchRouteOptions): void {
  const now = o.now ?? Date.now;
  let inFlight = 0;
  app.get('/api/search', async (req: FastifyRequest, reply) => {
    const store = o.store;
    if (!store) return sendError(reply, 'SW_CONSOLE_NOT_FOUND', 'console: /api/search: no event store: start the console with --store SPEC (as for signwatch query)');
    const raw = rawQuery(req.query);
    const q = parseQuery(raw, now(), 'param');
    if (!q.ok) return sendError(reply, 'SW_CONSOLE_BAD_REQUEST', `console: search: ${q.message}`, { key: q.key });
    if (inFlight >= MAX_IN_FLIGHT) return sendError(reply.header('retry-after', '1'), 'SW_QUERY_BUSY', `console: search: ${inFlight} searches in progress; retry shortly`);
    inFlight++;
    try {
      const r = q.request;
      const canon = canonicalQuery(raw);
      const answer: WireSearch = { query: canon.toString(), command: queryCommand(canon), limit: r.limit, events: [], more: false };
      if (r.countBy) {
        const keys = r.countBy;
        const rows = await store.countBy(r.filters, keys);
        answer.counts = {
          keys: [...keys],
          rows: rows.map((x) => ({ keys: keys.map((k) => (k === 'hour' ? new Date(x.hour!).toISOString() : String(x[k] ?? ''))), count: x.count })),
        };
      }
      if (r.around) {
        const a = await store.around(r.around.id, r.filters, r.around.before, r.around.after, r.limit);
        if (!a) return sendError(reply, 'SW_CONSOLE_NOT_FOUND', `console: search: around: no event with id ${r.around.id} in the store`, { key: 'around' });
        answer.events = a.events.map((e) => eventRow(e, a.anchor.id));
        answer.more = a.truncated === true;
      } else {
        const events = await store.query(r.filters, { limit: Math.min(r.limit + 1, MAX_LIMIT), order: r.order });
        answer.more = events.length > r.limit || (r.limit >= MAX_LIMIT && events.length === r.limit);
        if (events.length > r.limit) events.length = r.limit;
        answer.events = events.map((e) => eventRow(e));
      }
      return reply.header('cache-control', 'no-store').send(answer);
    } finally {
      inFlight--;
    }
  });
}
