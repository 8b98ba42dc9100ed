/**
 * Random bytes from /dev/urandom (the kernel CSPRNG node:crypto reads too), through a 4 KiB pool: `agent exec` makes
 * an event id and a trace span id per signing call, and loading node:crypto alone was the largest part of the
 * wrapper's start-up (bench/RESULTS.md "Agent wrapper"). Falls back to node:crypto where /dev/urandom cannot be read.
 * No dependency beyond node:fs (the agent's exec bundle imports this file).
 */
import { closeSync, openSync, readSync } from 'node:fs';

const pool = Buffer.alloc(4096);
let poolAt = pool.length;

/** `n` (≤ 4096) random bytes. The returned buffer is a view of the pool: use it before the next call. */
export function randomPoolBytes(n: number): Buffer {
  if (n > pool.length) throw new RangeError(`randomPoolBytes: at most ${pool.length} bytes at a time`);
  if (poolAt + n > pool.length) {
    let filled: boolean;
    try {
      const fd = openSync('/dev/urandom', 'r');
      try {
        filled = readSync(fd, pool, 0, pool.length, null) === pool.length;
      } finally {
        closeSync(fd);
      }
    } catch {
      filled = false;
    }
    if (!filled) process.getBuiltinModule('node:crypto').randomFillSync(pool);
    poolAt = 0;
  }
  poolAt += n;
  return pool.subarray(poolAt - n, poolAt);
}
