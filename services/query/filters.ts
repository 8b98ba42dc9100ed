/**
 * The query request schema shared by `signwatch query` (flags) and the query HTTP API (query-string
 * parameters): the same names (`--correlation-id` ⇔ `?correlation-id=`), the same validation, the same messages.
 *
 * Input values are strings (or repeated strings) as argv and URLs give them; the result is a normalised
 * QueryRequest. Relative times (`2h`, `30m`, `7d`, `1w`) are resolved against the `now` given to the schema.
 * Lists: region, type, outcome and count-by take comma-separated values; the free-text filters (host, error,
 * keychain, partition, correlation-id, invocation-id) are repeated to give several values and are matched
 * literally, commas included.
 */
import { z } from 'zod';
import { DateTime } from 'luxon';
import { parseDuration } from '../platform/duration.js';
import { EVENT_TYPES, EventId, REGIONS, type EventType, type Region } from '../../schemas/events.js';
import { COUNT_KEYS, DEFAULT_LIMIT, EVENT_FLAGS, type EventFlag, MAX_LIMIT, type Context, type CountKey, type QueryFilters } from './store.js';

export interface QueryRequest {
  filters: QueryFilters;
  around?: { id: string; before: Context; after: Context };
  countBy?: CountKey[];
  limit: number;
  order: 'asc' | 'desc';
}

/** "2h" → 7 200 000: the platform's duration grammar; undefined if not a relative time. */
export function parseRelative(text: string): number | undefined {
  return parseDuration(text);
}

/** RFC 3339 (an offset or Z; without one, UTC), `now`, or relative to now ("2h" = 2 hours ago). */
export function parseTime(text: string, now: number): number | undefined {
  if (text === 'now') return now;
  const rel = parseRelative(text);
  if (rel !== undefined) return now - rel;
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const dt = DateTime.fromISO(text, { zone: 'utc', setZone: true });
  return dt.isValid ? dt.toMillis() : undefined;
}

const Str = z.string().min(1, 'must not be empty').max(1024, 'is longer than 1024 characters');
/** One value or the value repeated (flag given several times, ?k=a&k=b). */
const Many = z.union([Str, z.array(Str).min(1).max(100)]).transform((v) => (Array.isArray(v) ? v : [v]));
/** Comma-separated enum values, possibly repeated; case-insensitive. */
function enumList<T extends string>(allowed: readonly T[], upper: boolean) {
  return Many.transform((vs, ctx): T[] => {
    const out: T[] = [];
    for (const v of vs.flatMap((x) => x.split(','))) {
      const norm = (upper ? v.trim().toUpperCase() : v.trim().toLowerCase()) as T;
      if (!allowed.includes(norm)) {
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not one of ${allowed.join(', ')}` }); // badRegion's wording for regions
        return z.NEVER;
      }
      if (!out.includes(norm)) out.push(norm);
    }
    return out;
  });
}

const OUTCOMES = ['ok', 'fail', 'accepted', 'invalid', 'rejected', 'error', 'exec', 'refused'] as const;

function timeField(now: number) {
  return Str.transform((s, ctx) => {
    const t = parseTime(s, now);
    if (t === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${s}" is not a time (use RFC 3339 like 2026-11-26T02:10:00Z, or relative like 30m, 2h, 7d)` });
      return z.NEVER;
    }
    return t;
  });
}

const ContextField = Str.transform((s, ctx): Context => {
  if (/^\d{1,6}$/.test(s)) return { events: Number(s) };
  const ms = parseRelative(s);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is neither a number of events (e.g. 10) nor a time span (e.g. 5m)` });
    return z.NEVER;
  }
  return { ms };
});

const IntField = (min: number, max: number) =>
  Str.transform((s, ctx) => {
    const n = Number(s);
    if (!/^\d+$/.test(s) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `"${s}" must be an integer from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });

/** Field names are the CLI flags without `--` and the HTTP query parameters. */
export const FILTER_KEYS = [
  'since', 'until', 'around', 'before', 'after', 'region', 'host', 'type', 'outcome', 'error', 'keychain', 'partition',
  'correlation-id', 'invocation-id', 'flag', 'count-by', 'limit', 'order',
] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];

export function makeQuerySchema(now: number) {
  return z
    .strictObject({
      since: timeField(now).optional(),
      until: timeField(now).optional(),
      around: Str.pipe(EventId).optional(),
      before: ContextField.optional(),
      after: ContextField.optional(),
      region: enumList<Region>(REGIONS, true).optional(),
      host: Many.optional(),
      type: enumList<EventType>(EVENT_TYPES, false).optional(),
      outcome: enumList(OUTCOMES, false).optional(),
      error: Many.optional(),
      keychain: Many.optional(),
      partition: Many.optional(),
      'correlation-id': Many.optional(),
      'invocation-id': Many.optional(),
      flag: enumList<EventFlag>(EVENT_FLAGS, false).optional(),
      'count-by': enumList<CountKey>(COUNT_KEYS, false).optional(),
      limit: IntField(1, MAX_LIMIT).optional(),
      order: z.enum(['asc', 'desc'], { error: () => 'must be asc or desc' }).optional(),
    })
    .superRefine((v, ctx) => {
      if (v.since !== undefined && v.until !== undefined && v.since >= v.until) {
        ctx.addIssue({ code: 'custom', path: ['until'], message: `must be after since (${new Date(v.since).toISOString()})` });
      }
      for (const k of ['before', 'after'] as const) {
        if (v[k] !== undefined && v.around === undefined) ctx.addIssue({ code: 'custom', path: [k], message: 'only makes sense with around' });
      }
      if (v.around !== undefined && v['count-by'] !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['count-by'], message: 'cannot be combined with around' });
      }
    })
    .transform((v): QueryRequest => {
      const filters: QueryFilters = {};
      if (v.since !== undefined) filters.since = v.since;
      if (v.until !== undefined) filters.until = v.until;
      if (v.region) filters.region = v.region;
      if (v.host) filters.host = v.host;
      if (v.type) filters.type = v.type;
      if (v.outcome) filters.outcome = v.outcome;
      if (v.error) filters.error = v.error;
      if (v.keychain) filters.keychain = v.keychain;
      if (v.partition) filters.partition = v.partition;
      if (v['correlation-id']) filters.correlationId = v['correlation-id'];
      if (v['invocation-id']) filters.invocationId = v['invocation-id'];
      if (v.flag) filters.flag = v.flag;
      const req: QueryRequest = { filters, limit: v.limit ?? DEFAULT_LIMIT, order: v.order ?? 'asc' };
      if (v.around !== undefined) req.around = { id: v.around, before: v.before ?? { events: 10 }, after: v.after ?? { events: 10 } };
      if (v['count-by']) req.countBy = v['count-by'];
      return req;
    });
}

/** Raw input: what argv or a query string gives. */
export type RawQuery = Partial<Record<string, string | string[] | undefined>>;

export type ParsedQuery = { ok: true; request: QueryRequest } | { ok: false; message: string; key: string };

/**
 * Validate raw input. `style` decides how the bad key is named in the message: `--since` (flag) or `since`
 * (param). Unknown keys are rejected by name.
 */
export function parseQuery(raw: RawQuery, now: number, style: 'flag' | 'param'): ParsedQuery {
  // keys are input (query parameters): a null prototype keeps `__proto__` an own, unknown key that is refused
  const input = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(raw)) if (v !== undefined) input[k] = v;
  const r = makeQuerySchema(now).safeParse(input);
  if (r.success) return { ok: true, request: r.data };
  const issue = r.error.issues[0]!;
  let key = String(issue.path[0] ?? '');
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    key = issue.keys[0] ?? '';
    message = 'unknown filter';
  } else if (issue.code === 'invalid_union' || issue.code === 'invalid_type') {
    message = `invalid value (${issue.message})`;
  }
  const name = style === 'flag' ? `--${key}` : key;
  return { ok: false, key, message: `${name}: ${message.replace(/\bsince\b(?= \()/, style === 'flag' ? '--since' : 'since').replace(/with around$/, style === 'flag' ? 'with --around' : 'with around')}` };
}
