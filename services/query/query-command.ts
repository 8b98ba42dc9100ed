/** `signwatch query`: postmortem questions to the event store. See --help and docs/query.md. */
import { parseCommandArgs, type CommandModule } from '../platform/cli.js';
import { CodedError, UsageError } from '../platform/errors.js';
import { parseQuery, parseRelative, type RawQuery } from './filters.js';
import { followHeader, formatCounts, formatEvents, formatFollow, OUTPUT_FORMATS, type OutputFormat } from './format.js';
import { DEFAULT_STORE, createStore, redactSpec, specHasPassword } from './open-store.js';
import { MAX_LIMIT, StoreError, type EventStore } from './store.js';

const HELP = `Usage: signwatch query [filters] [--count-by KEYS] [--around ID [--before N|SPAN] [--after N|SPAN]] [options]

Ask the event store what happened. Filters combine with AND; a repeated flag means "any of".

Time:
  --since TIME            events at or after TIME: RFC 3339 (2026-11-26T02:10:00Z) or relative (30m, 2h, 7d, 1w)
  --until TIME            events before TIME (half-open: since <= ts < until)
  --around EVENT_ID       the event and its context, like grep -B/-A (other filters apply to the context)
  --before N|SPAN         context before the event: N events (default 10) or a time span (5m)
  --after N|SPAN          context after the event: N events (default 10) or a time span
Filters (matched literally: quotes, ';', '%' and '_' are ordinary characters):
  --region R[,R]          HK, JP, KR, SG, US
  --host HOST             repeat for several hosts
  --type T[,T]            codesign, unlock, notarize, cert, clock, heartbeat, acl, session, doctor
  --outcome O[,O]         ok, fail, accepted, invalid, rejected, error; exec, refused (session)
  --error CODE            error code, e.g. errSecInternalComponent
  --keychain PATH         keychain path
  --partition ID          partition ID contained in the event's partitionIds (e.g. teamid:ABCDE12345)
  --correlation-id ID     CI job / pipeline id
  --invocation-id ID      codesign invocation id
  --flag future           only events stamped beyond their record's time + maxFutureSkew (dead-lettered as
                          future_timestamp by the processor, kept here for postmortems)
Results:
  --count-by KEYS         counts grouped by hour,region,host,type,outcome,error (comma-separated, in order)
  --limit N               at most N events (default 1000, max 100000)
  --order asc|desc        by event time (default asc)
  -o, --output FORMAT     table (default on a terminal), json, ndjson (default otherwise), csv
  -f, --follow            after the matches, print new matching events as they are stored (Ctrl-C to stop)
  --interval SPAN         --follow poll interval (default 1s)
Store:
  --store SPEC            sqlite:PATH or postgres://user@host/db[?schema=NAME] (default $SIGNWATCH_STORE,
                          else ${DEFAULT_STORE}); put passwords in $SIGNWATCH_STORE or $PGPASSWORD, not argv

Exit status: 0 ok (also when nothing matches), 1 store unavailable, 2 bad usage (the message names the flag).
Examples:
  signwatch query --host mini-hk-03 --since 2026-11-26T02:10Z --until 2026-11-26T02:40Z --outcome fail
  signwatch query --around 01JDX… --before 20 --host mini-hk-03
  signwatch query --since 30d --count-by hour,region --error errSecInternalComponent -o csv
`;

const FILTER_OPTIONS = {
  since: { type: 'string' },
  until: { type: 'string' },
  around: { type: 'string' },
  before: { type: 'string' },
  after: { type: 'string' },
  region: { type: 'string', multiple: true },
  host: { type: 'string', multiple: true },
  type: { type: 'string', multiple: true },
  outcome: { type: 'string', multiple: true },
  error: { type: 'string', multiple: true },
  keychain: { type: 'string', multiple: true },
  partition: { type: 'string', multiple: true },
  'correlation-id': { type: 'string', multiple: true },
  'invocation-id': { type: 'string', multiple: true },
  flag: { type: 'string', multiple: true },
  'count-by': { type: 'string', multiple: true },
  limit: { type: 'string' },
  order: { type: 'string' },
} as const;

const OPTIONS = {
  ...FILTER_OPTIONS,
  output: { type: 'string', short: 'o' },
  follow: { type: 'boolean', short: 'f' },
  interval: { type: 'string' },
  store: { type: 'string' },
} as const;

/** --store wins over $SIGNWATCH_STORE; a password in argv is refused (it would be visible in `ps`). */
export function resolveStoreSpec(flag: string | undefined, command: string): string {
  if (flag !== undefined) {
    if (specHasPassword(flag)) {
      throw new UsageError(`signwatch ${command}: --store: do not put a password on the command line; use $SIGNWATCH_STORE or $PGPASSWORD`);
    }
    return flag;
  }
  return process.env.SIGNWATCH_STORE || DEFAULT_STORE;
}

/** Open the store for reading; a missing SQLite file or unreachable server is exit 1 with the spec named. */
export async function openForCommand(spec: string, command: string, mustExist: boolean): Promise<EventStore> {
  let store: EventStore;
  try {
    store = createStore(spec, { mustExist });
  } catch (e) {
    throw new UsageError(`signwatch ${command}: --store: ${(e as Error).message}`);
  }
  try {
    await store.open();
    return store;
  } catch (e) {
    await store.close();
    throw new CodedError(e instanceof StoreError ? e.code : 'SW_STORE', `signwatch ${command}: store ${redactSpec(spec)}: ${(e as Error).message}`, { cause: e });
  }
}

/** The table's width: the terminal's, else $COLUMNS, else 120. */
export function terminalWidth(): number {
  const env = Number(process.env.COLUMNS);
  return (process.stdout.isTTY ? process.stdout.columns : undefined) ?? (Number.isInteger(env) && env > 0 ? env : 120);
}

function write(text: string): Promise<void> {
  if (!text) return Promise.resolve();
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
  });
}

export async function runQuery(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs('query', argv, OPTIONS, HELP, false);
  if (!parsed) return 0;
  const v = parsed.values;
  const raw: RawQuery = {};
  for (const k of Object.keys(FILTER_OPTIONS) as (keyof typeof FILTER_OPTIONS)[]) raw[k] = v[k];
  const q = parseQuery(raw, Date.now(), 'flag');
  if (!q.ok) throw new UsageError(`signwatch query: ${q.message}\nTry 'signwatch query --help'.`);
  const req = q.request;
  const format = (v.output ?? (process.stdout.isTTY ? 'table' : 'ndjson')) as OutputFormat;
  if (!OUTPUT_FORMATS.includes(format)) throw new UsageError(`signwatch query: --output: "${v.output}" is not one of ${OUTPUT_FORMATS.join(', ')}`);
  if (v.follow && (req.around || req.countBy)) {
    throw new UsageError(`signwatch query: --follow: cannot be combined with ${req.around ? '--around' : '--count-by'}`);
  }
  let interval = 1000;
  if (v.interval !== undefined) {
    const ms = parseRelative(v.interval);
    if (ms === undefined || ms < 50 || ms > 3_600_000) throw new UsageError(`signwatch query: --interval: "${v.interval}" must be a span from 50ms to 1h`);
    if (!v.follow) throw new UsageError('signwatch query: --interval: only makes sense with --follow');
    interval = ms;
  }
  const spec = resolveStoreSpec(v.store, 'query');
  const store = await openForCommand(spec, 'query', true);
  try {
    if (req.countBy) {
      await write(formatCounts(req.countBy, await store.countBy(req.filters, req.countBy), format));
      return 0;
    }
    if (req.around) {
      const r = await store.around(req.around.id, req.filters, req.around.before, req.around.after, req.limit);
      if (!r) throw new CodedError('SW_QUERY_NOT_FOUND', `signwatch query: --around: no event with id ${req.around.id} in the store`);
      await write(formatEvents(r.events, format, r.anchor.id, terminalWidth()));
      if (r.truncated) process.stderr.write(`signwatch query: --around: stopped at the limit of ${req.limit} events; more context matches (raise --limit or narrow --before/--after)\n`);
      return 0;
    }
    if (!v.follow) {
      // one more than the limit tells whether the limit cut the answer short
      const events = await store.query(req.filters, { limit: req.limit + 1, order: req.order });
      const more = events.length > req.limit || (req.limit >= MAX_LIMIT && events.length === req.limit); // the store caps at MAX_LIMIT
      if (more) events.length = req.limit;
      await write(formatEvents(events, format, undefined, terminalWidth()));
      if (more) process.stderr.write(`signwatch query: stopped at the limit of ${req.limit} events; more match (raise --limit or narrow the filters)\n`);
      else if (events.length === 0 && process.stderr.isTTY && format === 'table') process.stderr.write('(no matching events)\n');
      return 0;
    }
    return await follow(store, req.filters, req.limit, format, interval);
  } finally {
    await store.close();
  }
}

/**
 * --follow: print the current matches (newest `limit`, oldest first), then poll for events stored after the
 * cursor (insertion order, so late events show up too) until SIGINT/SIGTERM.
 */
async function follow(store: EventStore, filters: Parameters<EventStore['query']>[0], limit: number, format: OutputFormat, interval: number): Promise<number> {
  const top = await store.query({}, { bySeq: true, order: 'desc', limit: 1 });
  let cursor = top[0]?.seq ?? 0;
  const initial = (await store.query({ ...filters }, { limit, order: 'desc' })).filter((e) => e.seq <= cursor).reverse();
  await write(followHeader(format) + formatFollow(initial, format));
  let stop = false;
  let wake: (() => void) | undefined;
  const onSignal = () => {
    stop = true;
    wake?.();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    while (!stop) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, interval);
      });
      clearTimeout(timer);
      if (stop) break;
      for (let page = 0; page < 100; page++) {
        const next = await store.query({ ...filters, afterSeq: cursor }, { bySeq: true, limit: 5000 });
        if (next.length === 0) break;
        cursor = next[next.length - 1]!.seq;
        await write(formatFollow(next, format));
        if (next.length < 5000) break;
      }
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  return 0;
}

export const command: CommandModule = { run: runQuery };
export const run = runQuery;
