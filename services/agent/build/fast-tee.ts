/**
 * The build's stdout tee without Node streams on the byte path (issue 19, "tee within 10 % of cat"): the build
 * writes into a private FIFO; a worker thread reads it with blocking reads into a 1 MiB ring of shared memory
 * (no per-chunk allocation), writes every read through to the wrapper's own fd 1 with blocking writes, and only
 * then publishes it; the main thread (the other core) scans the ring behind it and frees the space. Used for build
 * logs with SIGNWATCH_BUILD_TEE=worker (stdout only: stderr stays on the main thread's stream tee); when anything here
 * is missing or fails before the build starts (no mkfifo, no worker), tool-run.ts uses its Node stream tee instead.
 * Not the default: measured against the stream tee on the 2-core bench host (bench/build-tee.ts), its per-byte cost
 * was the same within noise and its start-up ~40 ms of CPU more (the worker's isolate, mkfifo).
 *
 * Why not /usr/bin/tee (measured in bench/build-tee.ts): GNU and BSD tee move 8 KiB per read and write (8× the
 * system calls of a 64 KiB pipe read), the wrapper would still read a second pipe through Node streams, tee runs
 * with SIGPIPE at its default (libuv resets dispositions in children; BSD tee has no `-p`), so a closed downstream
 * would kill tee and then the build, and a terminal's Ctrl-C would kill tee before the build's own last lines.
 *
 * Semantics kept: the bytes and their order on stdout are the build's (one reader, written in read order); no
 * added latency (written through as soon as read, before the scanner sees them); bounded memory (the ring); when
 * the scanner falls behind by a full ring the worker stops reading, so the build's writes wait: nothing is ever
 * dropped, neither from the real output nor from the scan (a slower build beats a missed signing failure, and the
 * scanner runs at ~1 GB/s, far above any build's output rate). When the wrapper's own stdout is gone (EPIPE), the
 * build keeps running, its output is still read and scanned, as with the stream tee. When the FIFO reaches EOF
 * (the build and every descendant holding its stdout have closed it), `done` resolves.
 */
import { spawnSync } from 'node:child_process';
import type * as Fs from 'node:fs';
import type * as WorkerThreads from 'node:worker_threads';
import { closeSync, constants, existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

/** Ring size (a power of two): how far the scanner may fall behind the real output before the build waits. */
export const RING_BYTES = 1 << 20;
// control words of the shared Int32Array: bytes produced / consumed (mod 2^32), "a wake-up is pending", stdout gone
const PROD = 0;
const CONS = 1;
const SIG = 2;
const GONE = 3;

interface TeeInit {
  fifo: string;
  out: number;
  ring: SharedArrayBuffer;
  ctrl: SharedArrayBuffer;
}

type WorkerMsg = { t: 'open' } | { t: 'data' } | { t: 'end'; error?: string };

/**
 * The worker's whole program (run with `eval`, so it works from the esbuild bundle too): self-contained, it uses only
 * its two arguments (module namespaces of node:worker_threads and node:fs). Blocking reads of the FIFO into the ring; each read written through to fd `out`, then published.
 */
function teeWorker(wt: typeof WorkerThreads, fs: typeof Fs): void {
  const init = wt.workerData as TeeInit;
  const port = wt.parentPort;
  if (!port) return;
  const [PROD, CONS, SIG, GONE] = [0, 1, 2, 3]; // the same words as outside: this function sees nothing outside
  const c = new Int32Array(init.ctrl);
  const buf = Buffer.from(init.ring);
  const size = buf.length;
  const mask = size - 1;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const code = (e: unknown): string => String((e as NodeJS.ErrnoException).code ?? '');
  // 'go' once the FIFO exists (the worker boots meanwhile)
  port.once('message', () => {
    let fd: number;
    try {
      fd = fs.openSync(init.fifo, 'r'); // returns at once: the wrapper holds a write end until this is reported
    } catch (e) {
      port.postMessage({ t: 'end', error: `open: ${(e as Error).message}` });
      port.close();
      return;
    }
    port.postMessage({ t: 'open' });
    pump(fd);
    port.close();
  });
  const pump = (fd: number): void => {
  let prod = 0;
  let gone = false;
  let error: string | undefined;
  for (;;) {
    let cons = Atomics.load(c, CONS);
    while (((prod - cons) | 0) >= size) {
      Atomics.wait(c, CONS, cons); // the ring is full: wait for the scanner (the build's writes wait meanwhile)
      cons = Atomics.load(c, CONS);
    }
    const pos = prod & mask;
    const len = Math.min(size - ((prod - cons) | 0), size - pos);
    let n: number;
    try {
      n = fs.readSync(fd, buf, pos, len, null);
    } catch (e) {
      if (code(e) === 'EAGAIN' || code(e) === 'EINTR') {
        Atomics.wait(nap, 0, 0, 1);
        continue;
      }
      error = `read: ${(e as Error).message}`;
      break;
    }
    if (n === 0) break;
    for (let off = pos; !gone && off < pos + n; ) {
      try {
        off += fs.writeSync(init.out, buf, off, pos + n - off);
      } catch (e) {
        // a non-blocking stdout (set by whoever shares it) that is full: wait a little; gone (EPIPE…): stop writing
        if (code(e) === 'EAGAIN' || code(e) === 'EINTR') Atomics.wait(nap, 0, 0, 1);
        else {
          gone = true;
          Atomics.store(c, GONE, 1);
        }
      }
    }
    prod = (prod + n) | 0;
    Atomics.store(c, PROD, prod);
    if (Atomics.exchange(c, SIG, 1) === 0) port.postMessage({ t: 'data' });
  }
  try {
    fs.closeSync(fd);
  } catch {
    // closing a read end cannot lose data
  }
  port.postMessage(error === undefined ? { t: 'end' } : { t: 'end', error });
  };
}

export interface FastTee {
  /** The write end of the FIFO: the build's stdout (the caller closes nothing; `started` does). */
  fd: number;
  /** Call right after spawning the build (or after the spawn failed): the wrapper's copy of the write end goes. */
  started(): void;
  /** Resolves once every byte the build wrote was written through and handed to `onChunk`. */
  done: Promise<{ error?: string }>;
}

const MKFIFO = ['/usr/bin/mkfifo', '/bin/mkfifo'];

/**
 * Set up the FIFO and the worker; `onChunk` gets every chunk of the build's stdout (a view of the ring, valid only
 * during the call) after it was written through to fd 1. Undefined when it cannot be set up (then nothing is left
 * behind and the caller uses the stream tee).
 */
export function openFastTee(onChunk: (b: Buffer) => void): FastTee | undefined {
  const mkfifo = MKFIFO.find((p) => existsSync(p));
  if (mkfifo === undefined) return undefined;
  let dir: string | undefined;
  let worker: Worker | undefined;
  let guard = -1;
  let wfd = -1;
  try {
    dir = mkdtempSync(join(tmpdir(), 'signwatch-tee-')); // 0700
    const fifo = join(dir, 'out');
    const ring = new SharedArrayBuffer(RING_BYTES);
    const ctrl = new SharedArrayBuffer(16);
    // the worker boots while mkfifo runs; it opens the FIFO only once told it exists
    // import(), not require(): the eval'd code is a module when the process runs with --input-type=module
    worker = new Worker(`Promise.all([import('node:worker_threads'), import('node:fs')]).then(([wt, fs]) => (${teeWorker.toString()})(wt, fs))`, {
      eval: true,
      workerData: { fifo, out: 1, ring, ctrl } satisfies TeeInit,
      // not piped into the main thread's process.stdout: creating that stream makes a pipe non-blocking (libuv)
      stdout: true,
      stderr: true,
    });
    const r = spawnSync(mkfifo, ['-m', '600', fifo], { stdio: 'ignore' });
    if (r.status !== 0) throw new Error('mkfifo failed');
    // a reader first (non-blocking open: returns at once), so the write end opens at once and no write ever gets
    // SIGPIPE before the worker has opened its own blocking read end; both stay until the worker reports 'open'
    guard = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    wfd = openSync(fifo, constants.O_WRONLY);
    worker.postMessage('go');
    const c = new Int32Array(ctrl);
    const view = Buffer.from(ring);
    const w = worker;
    const g = guard;
    const wr = wfd;
    const d = dir;
    let cons = 0;
    let spawned = false;
    let opened = false;
    let closedWrite = false;
    const closeWrite = () => {
      if (closedWrite || !spawned || !opened) return;
      closedWrite = true;
      closeSync(wr); // the build (and its children) now hold the only write ends: their close is the EOF
    };
    const scan = () => {
      Atomics.store(c, SIG, 0); // before reading PROD: a chunk published after this sends a new wake-up
      const prod = Atomics.load(c, PROD);
      while (cons !== prod) {
        const pos = cons & (RING_BYTES - 1);
        const n = Math.min((prod - cons) | 0, RING_BYTES - pos);
        try {
          onChunk(view.subarray(pos, pos + n));
        } finally {
          cons = (cons + n) | 0;
          Atomics.store(c, CONS, cons);
          Atomics.notify(c, CONS);
        }
      }
    };
    const done = new Promise<{ error?: string }>((resolve) => {
      let settled = false;
      const settle = (error?: string) => {
        if (settled) return;
        settled = true;
        try {
          scan();
        } catch {
          // the caller's onChunk guards itself; a throw here must not keep the promise open
        }
        if (!closedWrite) {
          closedWrite = true;
          closeSync(wr);
        }
        closeSync(g);
        rmSync(d, { recursive: true, force: true });
        resolve(error === undefined ? {} : { error });
      };
      w.on('message', (m: WorkerMsg) => {
        if (m.t === 'open') {
          opened = true;
          rmSync(d, { recursive: true, force: true }); // both ends are open: the name is no longer needed
          closeWrite();
        } else if (m.t === 'data') scan();
        else settle(m.error);
      });
      // the worker died (a bug, or out of memory): the main thread takes over reading the FIFO through the guard's
      // read end (a stream tee, as tool-run.ts does without this file), so the build neither blocks nor gets SIGPIPE
      w.on('error', (e) => fallback(`worker: ${e.message}`));
      w.on('exit', () => fallback('worker exited'));
      let fellBack = false;
      const fallback = (why: string) => {
        if (settled || fellBack) return;
        fellBack = true;
        scan();
        if (!opened) {
          opened = true;
          closeWrite();
        }
        const s = new Socket({ fd: g, readable: true, writable: false });
        s.on('data', (b: Buffer) => {
          if (Atomics.load(c, GONE) === 0) process.stdout.write(b);
          onChunk(b);
        });
        s.on('error', () => undefined);
        s.on('close', () => {
          settled = true;
          if (!closedWrite) closeSync(wr);
          rmSync(d, { recursive: true, force: true });
          resolve({ error: why });
        });
      };
    });
    return {
      fd: wfd,
      started() {
        spawned = true;
        closeWrite();
      },
      done,
    };
  } catch {
    void worker?.terminate();
    if (wfd >= 0) closeSync(wfd);
    if (guard >= 0) closeSync(guard);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}
