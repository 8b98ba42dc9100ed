/**
 * Store specs: `sqlite:PATH` (or a bare path ending in .db/.sqlite), `postgres://…` / `postgresql://…`
 * (optionally `?schema=NAME`). `--store` wins over $SIGNWATCH_STORE; the default is `sqlite:signwatch-events.db`.
 * A password must not be passed in argv (it would show in `ps`): put it in $SIGNWATCH_STORE or $PGPASSWORD.
 */
import { PostgresEventStore } from './postgres-store.js';
import { SqliteEventStore } from './sqlite-store.js';
import { StoreError, type EventStore } from './store.js';

export const DEFAULT_STORE = 'sqlite:signwatch-events.db';

export interface StoreSpecOptions {
  retentionMs?: number;
  /** SQLite: fail instead of creating a new file. */
  mustExist?: boolean;
}

export function createStore(spec: string, opts: StoreSpecOptions = {}): EventStore {
  if (/^postgres(ql)?:\/\//.test(spec)) {
    return new PostgresEventStore(spec, { ...(opts.retentionMs !== undefined ? { retentionMs: opts.retentionMs } : {}) });
  }
  const path = spec.startsWith('sqlite:') ? spec.slice('sqlite:'.length) : spec;
  if (!path) throw new StoreError('SW_STORE_BAD_SPEC', 'store: "sqlite:" needs a path (sqlite:/var/lib/signwatch/events.db)');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    throw new StoreError('SW_STORE_BAD_SPEC', `store: unsupported store "${spec.split(':')[0]}" (use sqlite:PATH or postgres://…)`);
  }
  return new SqliteEventStore(path, opts);
}

/** Create and open (connect + migrate). */
export async function openStore(spec: string, opts: StoreSpecOptions = {}): Promise<EventStore> {
  const store = createStore(spec, opts);
  try {
    await store.open();
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}

/** True when a spec given in argv carries a password (postgres://user:secret@…). */
export function specHasPassword(spec: string): boolean {
  if (!/^postgres(ql)?:\/\//.test(spec)) return false;
  try {
    const u = new URL(spec);
    return u.password !== '' || u.searchParams.has('password');
  } catch {
    return false;
  }
}

/** The spec with any password masked, for messages and logs. */
export function redactSpec(spec: string): string {
  if (!/^postgres(ql)?:\/\//.test(spec)) return spec;
  try {
    const u = new URL(spec);
    if (u.password) u.password = '***';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString();
  } catch {
    return 'postgres://(unparseable)';
  }
}
