/**
 * Durable notification outbox (SQLite, better-sqlite3@12, WAL, synchronous=FULL): a notification is committed to
 * disk before accept() returns, and stays pending until the receiver answered 2xx (delivered) or rejected it for
 * good (dead). Rows of the same ordering key (channel + dedup key) are delivered strictly in order, so a resolve
 * never overtakes its trigger. Transition ids are remembered so that a transition delivered twice (the alert topic
 * is at least once) is enqueued once. Ticket state (one ticket per certificate) lives in the same file.
 *
 * Lifecycle: open (constructor) → use → close() (idempotent).
 */
import Database from 'better-sqlite3';
import { ensurePrivateFile } from '../platform/files.js';

export type OutboxStatus = 'pending' | 'delivered' | 'dead';

export interface OutboxRow {
  seq: number;
  id: string;
  channel: string;
  key: string;
  payload: string;
  status: OutboxStatus;
  attempts: number;
  next_at: number;
  created_at: number;
  updated_at: number;
  last_error: string | null;
}

export interface NewRow {
  id: string;
  channel: string;
  key: string;
  payload: unknown;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  channel TEXT NOT NULL,
  key TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(status, key, seq);
CREATE TABLE IF NOT EXISTS accepted (id TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tickets (key TEXT PRIMARY KEY, open INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ticket_sources (key TEXT NOT NULL, dedup_key TEXT NOT NULL, PRIMARY KEY (key, dedup_key));
`;

export class Outbox {
  private db: Database.Database | undefined;
  private readonly stmts;

  constructor(readonly path: string) {
    if (path !== ':memory:') ensurePrivateFile(path); // 0600 in a 0700 directory, never through a symlink
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    this.db = db;
    this.stmts = {
      seen: db.prepare<[string], { id: string }>('SELECT id FROM accepted WHERE id = ?'),
      markSeen: db.prepare<[string, number]>('INSERT OR IGNORE INTO accepted (id, at) VALUES (?, ?)'),
      insert: db.prepare<[string, string, string, string, number, number, number]>(
        `INSERT OR IGNORE INTO outbox (id, channel, key, payload, status, next_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)`,
      ),
      ready: db.prepare<[number, number], OutboxRow>(
        `SELECT o.* FROM outbox o
          WHERE o.status = 'pending' AND o.next_at <= ?
            AND o.seq = (SELECT MIN(p.seq) FROM outbox p WHERE p.status = 'pending' AND p.key = o.key)
          ORDER BY o.seq LIMIT ?`,
      ),
      nextDue: db.prepare<[], { t: number | null }>(
        `SELECT MIN(o.next_at) AS t FROM outbox o WHERE o.status = 'pending'
           AND o.seq = (SELECT MIN(p.seq) FROM outbox p WHERE p.status = 'pending' AND p.key = o.key)`,
      ),
      done: db.prepare<[string, number, number, string | null, number]>(
        'UPDATE outbox SET status = ?, attempts = ?, updated_at = ?, last_error = ? WHERE seq = ?',
      ),
      retry: db.prepare<[number, number, number, string, number]>(
        'UPDATE outbox SET attempts = ?, next_at = ?, updated_at = ?, last_error = ? WHERE seq = ?',
      ),
      counts: db.prepare<[], { status: OutboxStatus; n: number }>('SELECT status, COUNT(*) AS n FROM outbox GROUP BY status'),
      all: db.prepare<[], OutboxRow>('SELECT * FROM outbox ORDER BY seq'),
      ticket: db.prepare<[string], { open: number }>('SELECT open FROM tickets WHERE key = ?'),
      setTicket: db.prepare<[string, number, number]>(
        'INSERT INTO tickets (key, open, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET open = excluded.open, updated_at = excluded.updated_at',
      ),
      addSource: db.prepare<[string, string]>('INSERT OR IGNORE INTO ticket_sources (key, dedup_key) VALUES (?, ?)'),
      delSource: db.prepare<[string, string]>('DELETE FROM ticket_sources WHERE key = ? AND dedup_key = ?'),
      countSources: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM ticket_sources WHERE key = ?'),
      prune: db.prepare<[number]>("DELETE FROM outbox WHERE status != 'pending' AND updated_at < ?"),
      pruneSeen: db.prepare<[number]>('DELETE FROM accepted WHERE at < ?'),
    };
  }

  private get open(): Database.Database {
    if (!this.db) throw new Error('outbox is closed');
    return this.db;
  }

  /**
   * Run `fn` in one transaction for transition `transitionId`: returns false (and runs nothing) when that
   * transition was already accepted. Everything `fn` enqueues is committed (fsynced) together with the id.
   */
  acceptOnce(transitionId: string, now: number, fn: (tx: OutboxTx) => void): boolean {
    return this.open.transaction(() => {
      if (this.stmts.seen.get(transitionId)) return false;
      this.stmts.markSeen.run(transitionId, now);
      fn({
        enqueue: (r: NewRow) => {
          this.stmts.insert.run(r.id, r.channel, r.key, JSON.stringify(r.payload), now, now, now);
        },
        ticketOpen: (key) => (this.stmts.ticket.get(key)?.open ?? 0) === 1,
        setTicketOpen: (key, open) => this.stmts.setTicket.run(key, open ? 1 : 0, now),
        addTicketSource: (key, dk) => this.stmts.addSource.run(key, dk),
        removeTicketSource: (key, dk) => this.stmts.delSource.run(key, dk),
        ticketSources: (key) => this.stmts.countSources.get(key)?.n ?? 0,
      });
      return true;
    })();
  }

  /** Heads of their key, due at `now`, oldest first. */
  ready(now: number, limit: number): OutboxRow[] {
    return this.stmts.ready.all(now, limit);
  }

  /** Earliest next attempt among pending heads, or undefined when nothing is pending. */
  nextDue(): number | undefined {
    return this.stmts.nextDue.get()?.t ?? undefined;
  }

  markDelivered(seq: number, attempts: number, now: number): void {
    this.stmts.done.run('delivered', attempts, now, null, seq);
  }

  markDead(seq: number, attempts: number, now: number, error: string): void {
    this.stmts.done.run('dead', attempts, now, error, seq);
  }

  scheduleRetry(seq: number, attempts: number, nextAt: number, now: number, error: string): void {
    this.stmts.retry.run(attempts, nextAt, now, error, seq);
  }

  counts(): Record<OutboxStatus, number> {
    const c: Record<OutboxStatus, number> = { pending: 0, delivered: 0, dead: 0 };
    for (const r of this.stmts.counts.all()) c[r.status] = r.n;
    return c;
  }

  rows(): OutboxRow[] {
    return this.stmts.all.all();
  }

  /** Forget finished rows and accepted ids older than `beforeMs` (housekeeping). */
  prune(beforeMs: number): void {
    this.stmts.prune.run(beforeMs);
    this.stmts.pruneSeen.run(beforeMs);
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }
}

export interface OutboxTx {
  enqueue(r: NewRow): void;
  ticketOpen(key: string): boolean;
  setTicketOpen(key: string, open: boolean): void;
  addTicketSource(key: string, dedupKey: string): void;
  removeTicketSource(key: string, dedupKey: string): void;
  ticketSources(key: string): number;
}
