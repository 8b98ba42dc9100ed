/**
 * The body of the WAL checkpointer's worker thread (see sqlite-checkpointer.ts, which starts and stops it).
 *
 * It opens its own connection to the store's file and, every `intervalMs`, copies committed WAL frames into the
 * database file with `PRAGMA wal_checkpoint(PASSIVE)`: it never waits for nor blocks the writer. After each one it
 * publishes the WAL's length in `shared` ([WAL_FRAMES], Atomics), which the writer reads without a message round trip to decide when the WAL must start over (sqlite-checkpointer.ts).
 * Only one connection can checkpoint at a time, so a checkpoint runs with [BUSY] = 1 and none starts while the
 * writer has set [HOLD] to restart the WAL itself.
 *
 * It sets [READY] once its connection is open. Messages to the parent: { type: 'checkpoint', … } after a checkpoint
 * that copied frames; { type: 'error', message, code } when opening or a checkpoint failed (the parent gives the writer its
 * own automatic checkpoints back and stops this thread). It stops on 'stop'.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { BUSY, HOLD, READY, WAL_FRAMES, type CheckpointWorkerData, type CheckpointWorkerMessage } from './sqlite-checkpointer.js';

interface CheckpointRow {
  busy: number;
  log: number;
  checkpointed: number;
}

if (!parentPort) throw new Error('sqlite-checkpoint-worker.js runs only as a worker thread (see sqlite-checkpointer.ts)');
const port = parentPort;
const { path, intervalMs, shared } = workerData as CheckpointWorkerData;
const post = (m: CheckpointWorkerMessage) => port.postMessage(m);

/** Reports an error to the parent with SQLite's code (better-sqlite3 sets `code`), or `fallback`. */
function postError(e: unknown, fallback: string): void {
  const code = (e as { code?: unknown }).code;
  post({ type: 'error', message: (e as Error).message, code: typeof code === 'string' ? code : fallback });
}

let db: Database.Database | undefined;
let timer: NodeJS.Timeout | undefined;

function tick(): void {
  if (!db) return;
  Atomics.store(shared, BUSY, 1); // set before reading HOLD; the writer sets HOLD before reading BUSY
  try {
    if (Atomics.load(shared, HOLD) === 1) return; // the writer is restarting the WAL itself
    const [r] = db.pragma('wal_checkpoint(PASSIVE)') as CheckpointRow[];
    if (!r || r.log <= 0) return;
    Atomics.store(shared, WAL_FRAMES, r.log);
    post({ type: 'checkpoint', log: r.log, checkpointed: r.checkpointed });
  } catch (e) {
    postError(e, 'SQLITE_ERROR');
  } finally {
    Atomics.store(shared, BUSY, 0);
    Atomics.notify(shared, BUSY);
  }
}

function stop(): void {
  if (timer) clearInterval(timer);
  timer = undefined;
  const d = db;
  db = undefined;
  if (d?.open) d.close();
  port.close();
}

port.on('message', (m: unknown) => {
  if (m === 'stop') stop();
});

try {
  db = new Database(path, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  timer = setInterval(tick, intervalMs);
  Atomics.store(shared, READY, 1);
} catch (e) {
  postError(e, 'SQLITE_CANTOPEN');
  stop();
}
