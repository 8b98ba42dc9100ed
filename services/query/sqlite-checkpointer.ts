/**
 * Background WAL checkpoints for the SQLite store's writer connection.
 *
 * In WAL mode every commit appends pages to the `-wal` file, and a checkpoint copies them back into the database
 * file. SQLite's default runs that checkpoint inside the committing transaction once the WAL passes
 * `wal_autocheckpoint` pages, so the writer stops ingesting while it copies (and fsyncs) the WAL: measured at
 * ~20 % of SQLite ingest time (bench/RESULTS-query.md). This component moves the copy to a worker thread with its
 * own connection (sqlite-checkpoint-worker.ts), so it runs on another core while the writer keeps inserting.
 * Durability is unchanged: commits are in the WAL exactly as before; only who copies them on, and when, changes.
 *
 * The WAL starts over from its beginning only when a transaction begins while every frame is copied; a writer
 * that never pauses never gives it that moment, and a long WAL slows every page lookup (one more wal-index block
 * per 4096 frames, measured: batch times up 60 % at 700 MiB). So before each write the writer looks at the
 * worker's last figures (shared memory, no syscall) and, once the WAL is past `restartBytes`, runs one
 * `wal_checkpoint(RESTART)` itself: it copies only what the worker has not (the last batch or two) and the next
 * transaction writes from the start of the WAL again.
 *
 * Lifecycle (one per writer connection):
 *   - `beforeWrite()` before each write transaction (the store calls it in insertBatch, so read-only uses never
 *     start a thread): the first call starts the worker; the first call after the worker is up turns the
 *     connection's automatic checkpoint off; later calls restart the WAL when it has grown past `restartBytes`.
 *   - `stop()` before the connection is closed: stops the worker and waits for it (the closing connection then
 *     checkpoints whatever is left, as SQLite always does). Idempotent; safe when start() was never called.
 *   - If the worker cannot start, a checkpoint fails or the thread dies, the connection gets its automatic
 *     checkpoint back (`fallbackPages`): nothing is lost, ingest is only slower. `failure` says what happened.
 */
import type Database from 'better-sqlite3';
import { Worker } from 'node:worker_threads';

/* The protocol with the worker (sqlite-checkpoint-worker.ts). */
export interface CheckpointWorkerData {
  path: string;
  intervalMs: number;
  /** Int32Array over a SharedArrayBuffer, SHARED_SLOTS long, indexed by the constants below. */
  shared: Int32Array;
}

/** Index in `shared` (worker writes): frames in the WAL at the last checkpoint. */
export const WAL_FRAMES = 0;
/** Index in `shared` (writer sets): 1 = do not start a checkpoint, the writer is about to restart the WAL. */
export const HOLD = 1;
/** Index in `shared` (worker sets): 1 while a checkpoint runs; notified when it goes back to 0. */
export const BUSY = 2;
/** Index in `shared` (worker sets): 1 once its connection is open and it checkpoints. */
export const READY = 3;
export const SHARED_SLOTS = 4;

export type CheckpointWorkerMessage =
  | { type: 'checkpoint'; log: number; checkpointed: number }
  | { type: 'error'; message: string; code: string };

export interface WalCheckpointerOptions {
  /** How often the worker copies committed frames (default 200 ms). */
  intervalMs?: number;
  /** WAL size past which the writer restarts the WAL before its next transaction (default 64 MiB). */
  restartBytes?: number;
  /** The connection's wal_autocheckpoint (pages) when the worker is not running. */
  fallbackPages: number;
  /** The connection's busy_timeout, restored after a WAL restart (which waits at most RESTART_WAIT_MS). */
  busyTimeoutMs: number;
}

export interface WalCheckpointerStats {
  /** Worker checkpoints that copied frames. */
  checkpoints: number;
  /** Times the WAL passed `restartBytes` and the writer restarted it. */
  restarts: number;
  /** Why the worker stopped on its own (the writer checkpoints itself since), if it did. */
  failure: string | undefined;
}

const WORKER_URL = new URL('./sqlite-checkpoint-worker.js', import.meta.url);
/** How long stop() waits for the worker to exit, and a WAL restart for the worker's running checkpoint. */
const WORKER_WAIT_MS = 10_000;
/** How long a WAL restart waits for readers still on the WAL (the writer is held that long at most). */
const RESTART_WAIT_MS = 200;

export class WalCheckpointer {
  private worker: Worker | undefined;
  private exited: Promise<void> | undefined;
  private stopping = false;
  /** The writer's automatic checkpoint is off (the worker reported READY). */
  private handedOver = false;
  private restartFrames = 0;
  private readonly shared = new Int32Array(new SharedArrayBuffer(SHARED_SLOTS * Int32Array.BYTES_PER_ELEMENT));
  private readonly stats_: WalCheckpointerStats = { checkpoints: 0, restarts: 0, failure: undefined };

  constructor(
    private readonly db: Database.Database,
    private readonly path: string,
    private readonly opts: WalCheckpointerOptions,
  ) {}

  get stats(): Readonly<WalCheckpointerStats> {
    return this.stats_;
  }

  /** True while the worker owns checkpointing. */
  get running(): boolean {
    return this.worker !== undefined && this.stats_.failure === undefined;
  }

  /** Call before each write transaction (outside it): starts the worker, restarts an over-long WAL. */
  beforeWrite(): void {
    if (!this.worker) {
      this.start();
      return;
    }
    if (!this.running) return;
    if (!this.handedOver) {
      // the writer keeps checkpointing itself until the worker is up (starting a thread takes a while)
      if (Atomics.load(this.shared, READY) !== 1) return;
      this.db.pragma('wal_autocheckpoint = 0');
      this.handedOver = true;
    }
    if (Atomics.load(this.shared, WAL_FRAMES) >= this.restartFrames) this.restartWal();
  }

  /**
   * Holds the worker off, waits for its running checkpoint (only one connection can checkpoint at a time), then
   * copies the rest and restarts the WAL. Readers get RESTART_WAIT_MS to move off the WAL; if one is still on it
   * the WAL is only fully copied, and the next call tries again.
   */
  private restartWal(): void {
    const shared = this.shared;
    Atomics.store(shared, HOLD, 1); // set before reading BUSY; the worker sets BUSY before reading HOLD
    try {
      Atomics.wait(shared, BUSY, 1, WORKER_WAIT_MS);
      this.db.pragma(`busy_timeout = ${RESTART_WAIT_MS}`);
      const [r] = this.db.pragma('wal_checkpoint(RESTART)') as { busy: number }[];
      if (r?.busy === 0) {
        Atomics.store(shared, WAL_FRAMES, 0);
        this.stats_.restarts++;
      }
    } finally {
      this.db.pragma(`busy_timeout = ${this.opts.busyTimeoutMs}`);
      Atomics.store(shared, HOLD, 0);
    }
  }

  private start(): void {
    if (this.stopping || this.stats_.failure !== undefined) return;
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    this.restartFrames = Math.max(256, Math.floor((this.opts.restartBytes ?? 64 * 1024 * 1024) / pageSize));
    const data: CheckpointWorkerData = { path: this.path, intervalMs: this.opts.intervalMs ?? 200, shared: this.shared };
    let worker: Worker;
    try {
      worker = new Worker(WORKER_URL, { workerData: data });
    } catch (e) {
      this.fail(`worker did not start: ${(e as Error).message}`);
      return;
    }
    this.worker = worker;
    worker.unref(); // a running checkpointer never keeps the process alive
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (m: CheckpointWorkerMessage) => {
      if (m.type === 'checkpoint') {
        this.stats_.checkpoints++;
      } else if (m.type === 'error') {
        this.fail(`${m.code}: ${m.message}`);
        worker.postMessage('stop');
      }
    });
    worker.on('error', (e) => this.fail(`worker error: ${e.message}`));
    worker.once('exit', (code) => {
      if (!this.stopping) this.fail(`worker exited (code ${code})`);
    });
  }

  async stop(): Promise<void> {
    if (this.stopping) return this.exited;
    this.stopping = true;
    const worker = this.worker;
    if (!worker) return;
    worker.ref(); // keep the process alive until the worker has closed its connection
    worker.postMessage('stop');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), WORKER_WAIT_MS);
    });
    const outcome = await Promise.race([this.exited!, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') await worker.terminate();
  }

  private fail(why: string): void {
    if (this.stats_.failure !== undefined) return;
    this.stats_.failure = why;
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${this.opts.fallbackPages}`);
  }
}
