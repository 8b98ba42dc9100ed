/**
 * The durable on-disk spool between the agent's writers (exec wrapper, unlock helper, scanner: many short-lived
 * processes) and the daemon that ships to Kafka.
 *
 * Layout under `dir`: `q/<event id>.json` one file per event (complete JSON line) or `q/<first id>.<n>.json` for a
 * batch of n, `tmp/` files being written,
 * `dropped/<id>` markers left by a writer that had to drop events, `dropped.total` the running count.
 * - append(): write tmp/<id>, fdatasync, rename into q/, fsync q/ — so after append() returns the event survives
 *   kill -9 and power loss, and a reader never sees half an event. Concurrent writers never share a file.
 * - Order: event ids are ULIDs, so sorting q/ by name is time order (millisecond resolution across processes).
 * - Bounded: at most `maxEvents` events in q/. A writer that finds it full drops the OLDEST events (newest signals
 *   are the ones that can still page), writes a marker with the count, and carries on; the daemon folds markers
 *   into `dropped.total` and reports it in the heartbeat (spoolDropped). Nothing is dropped silently.
 * - The daemon deletes an event only after the sink (Kafka, acks=all) acknowledged it: remove(names).
 * Errors are SpoolError (code, retryable); callers on the signing path catch them and never change the tool's result.
 */
import { CodedError } from '../../platform/errors.js';
import {
  closeSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { newId } from '../events.js';
import { appendPrivate, writePrivate } from '../../platform/files.js';

export class SpoolError extends CodedError {
  constructor(message: string) {
    super('SW_SPOOL_IO', message);
  }
}

export interface SpoolOptions {
  dir: string;
  maxEvents: number;
}

export interface AppendResult {
  /** Events (oldest first) this append had to drop to stay within maxEvents. */
  dropped: number;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function errno(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
}

export class Spool {
  readonly q: string;
  private readonly tmp: string;
  private readonly drops: string;

  constructor(private readonly opts: SpoolOptions) {
    this.q = join(opts.dir, 'q');
    this.tmp = join(opts.dir, 'tmp');
    this.drops = join(opts.dir, 'dropped');
  }

  private ensureDirs(): void {
    for (const d of [this.q, this.tmp, this.drops]) mkdirSync(d, { recursive: true, mode: 0o700 });
  }

  /** Durably append one serialised event whose id is `id`. Synchronous: done when it returns. */
  append(id: string, line: string): AppendResult {
    return this.appendBatch([{ id, line }]);
  }

  /**
   * Durably append several events as one spool entry (one file, one line each, one pair of fsyncs): the scanner's
   * certificate events, bulk producers. The entry's name carries its line count: `<first id>.<n>.json`.
   */
  appendBatch(items: readonly { id: string; line: string }[]): AppendResult {
    const first = items[0];
    if (!first) return { dropped: 0 };
    const name = items.length === 1 ? `${first.id}.json` : `${first.id}.${items.length}.json`;
    const tmpPath = join(this.tmp, `${name}.${process.pid}`);
    let fd: number;
    try {
      fd = openSync(tmpPath, 'wx', 0o600);
    } catch (e) {
      if (errno(e) !== 'ENOENT') throw new SpoolError(`spool: cannot create ${tmpPath}: ${errno(e)}`);
      try {
        this.ensureDirs();
        fd = openSync(tmpPath, 'wx', 0o600);
      } catch (e2) {
        throw new SpoolError(`spool: cannot create ${tmpPath}: ${errno(e2)}`);
      }
    }
    let dropped: number;
    try {
      writeSync(fd, items.map((i) => (i.line.endsWith('\n') ? i.line : `${i.line}\n`)).join(''));
      fdatasyncSync(fd); // the data and the size that reads it back; the name is made durable by the fsync of q/
      closeSync(fd);
      dropped = this.makeRoom(items.length);
      renameSync(tmpPath, join(this.q, name));
      fsyncDir(this.q);
    } catch (e) {
      try {
        unlinkSync(tmpPath);
      } catch {
        /* already gone */
      }
      throw new SpoolError(`spool: append failed: ${errno(e)}`);
    }
    return { dropped };
  }

  /** Keep room for `incoming` more events: drop the oldest entries beyond the bound, leave a marker with the count. */
  private makeRoom(incoming: number): number {
    const names = this.list();
    let total = 0;
    for (const n of names) total += entryCount(n);
    let excess = total + incoming - this.opts.maxEvents;
    if (excess <= 0) return 0;
    let dropped = 0;
    for (const n of names) {
      if (excess <= 0) break;
      const c = entryCount(n);
      try {
        unlinkSync(join(this.q, n));
        dropped += c;
      } catch {
        /* shipped meanwhile */
      }
      excess -= c;
    }
    if (dropped > 0) {
      const marker = join(this.drops, newId());
      writePrivate(marker, String(dropped));
    }
    return dropped;
  }

  /** Event file names in order (oldest first). */
  list(): string[] {
    try {
      return readdirSync(this.q).filter((n) => n.endsWith('.json')).sort();
    } catch (e) {
      if (errno(e) === 'ENOENT') return [];
      throw new SpoolError(`spool: cannot list ${this.q}: ${errno(e)}`);
    }
  }

  /** Events waiting (entries may hold several). */
  depth(): number {
    let total = 0;
    for (const n of this.list()) total += entryCount(n);
    return total;
  }

  /** The JSON lines of one spool entry, or undefined when it is gone (dropped or shipped meanwhile). */
  read(name: string): string[] | undefined {
    try {
      return readFileSync(join(this.q, name), 'utf8').split('\n').filter((l) => l.trim() !== '');
    } catch {
      return undefined;
    }
  }

  /**
   * Forget events the sink acknowledged. An entry already gone was dropped by a writer that needed room while it was
   * being shipped: it was counted dropped but was delivered, so a correction marker (a negative count) takes it back
   * and the drop total stays exactly what was lost.
   */
  remove(names: readonly string[]): void {
    let delivered = 0;
    for (const n of names) {
      try {
        unlinkSync(join(this.q, n));
      } catch (e) {
        if (errno(e) === 'ENOENT') delivered += entryCount(n);
      }
    }
    if (delivered > 0) {
      try {
        mkdirSync(this.drops, { recursive: true, mode: 0o700 });
        writePrivate(join(this.drops, newId()), String(-delivered));
      } catch {
        /* an uncorrected marker over-counts drops; it never hides one */
      }
    }
    if (names.length > 0) {
      try {
        fsyncDir(this.q);
      } catch {
        /* a missed fsync only risks a duplicate after power loss */
      }
    }
  }

  /** Keep lines the daemon cannot parse in bad/ (counted by the caller), so they never block the queue. */
  quarantine(name: string, lines: readonly string[]): void {
    const bad = join(this.opts.dir, 'bad');
    mkdirSync(bad, { recursive: true, mode: 0o700 });
    appendPrivate(join(bad, name), lines.map((l) => `${l}\n`).join(''));
  }

  /**
   * Total events dropped since the spool was created. With fold (the daemon, the only folder) writers' markers are
   * folded into dropped.total; without (one-shot commands) they are only added up, so two processes never fold
   * the same markers twice.
   */
  droppedTotal(fold = true): number {
    const totalPath = join(this.opts.dir, 'dropped.total');
    let total = 0;
    try {
      total = Number(readFileSync(totalPath, 'utf8')) || 0;
    } catch {
      /* none yet */
    }
    let markers: string[];
    try {
      markers = readdirSync(this.drops);
    } catch {
      return total;
    }
    if (markers.length === 0) return total;
    let add = 0;
    if (!fold) {
      for (const m of markers) {
        try {
          add += Number(readFileSync(join(this.drops, m), 'utf8')) || 0;
        } catch {
          /* folded meanwhile */
        }
      }
      return total + add;
    }
    for (const m of markers) {
      try {
        add += Number(readFileSync(join(this.drops, m), 'utf8')) || 0;
      } catch {
        /* raced with another folder */
      }
    }
    total += add;
    // write the new total before deleting the markers: a crash in between over-counts, never under-counts
    const tmp = `${totalPath}.${process.pid}.tmp`;
    writePrivate(tmp, String(total));
    renameSync(tmp, totalPath);
    for (const m of markers) {
      try {
        unlinkSync(join(this.drops, m));
      } catch {
        /* gone */
      }
    }
    return total;
  }

  /** Remove temp files older than maxAgeMs left by writers killed mid-append. */
  sweepTmp(): void {
    try {
      for (const n of readdirSync(this.tmp)) {
        const pid = Number(n.split('.').pop());
        if (Number.isInteger(pid) && pid > 0 && !alive(pid)) {
          try {
            unlinkSync(join(this.tmp, n));
          } catch {
            /* gone */
          }
        }
      }
    } catch {
      /* no tmp dir */
    }
  }
}

/** Number of events in a spool entry, from its name: `<id>.json` holds 1, `<id>.<n>.json` holds n. */
export function entryCount(name: string): number {
  const m = /\.(\d+)\.json$/.exec(name);
  return m ? Number(m[1]) : 1;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) === 'EPERM';
  }
}
