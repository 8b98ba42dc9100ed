/**
 * RetentionSweeper: applies the store's retention in the background, one small batch per turn of the event
 * loop (store.sweep deletes at most `batchSize` rows in one short transaction), so writers interleave with it
 * and ingestion is never blocked behind a long DELETE. Run it beside the writer (the processor's store sink).
 *
 * Lifecycle: start() schedules a sweep now and then every `intervalMs`; stop() is idempotent, works without
 * start(), and waits for the batch in flight. Errors are reported to `onError` and retried next interval.
 */
import type { Component } from '../platform/lifecycle.js';
import type { EventStore } from './store.js';

export interface RetentionSweeperOptions {
  /** Time between sweeps (default 10 min). */
  intervalMs?: number;
  /** Rows per batch (default 2000). */
  batchSize?: number;
  /** Max batches per sweep, a bound on one sweep's duration (default 10 000). */
  maxBatches?: number;
  onSwept?: (deleted: number) => void;
  onError?: (e: unknown) => void;
  now?: () => number;
}

export class RetentionSweeper implements Component {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly store: EventStore,
    private readonly opts: RetentionSweeperOptions = {},
  ) {}

  start(): Promise<void> {
    if (this.timer || this.stopped) return Promise.resolve();
    const tick = () => {
      this.running ??= this.sweepAll().finally(() => {
        this.running = undefined;
      });
    };
    this.timer = setInterval(tick, this.opts.intervalMs ?? 600_000);
    this.timer.unref();
    tick();
    return Promise.resolve();
  }

  /** One full sweep (all batches until nothing is older than the retention); returns rows deleted. */
  async sweepOnce(): Promise<number> {
    let total = 0;
    const max = this.opts.maxBatches ?? 10_000;
    for (let i = 0; i < max && !this.stopped; i++) {
      const n = await this.store.sweep({ now: (this.opts.now ?? Date.now)(), batchSize: this.opts.batchSize ?? 2000 });
      total += n;
      if (n === 0) break;
      await new Promise<void>((resolve) => setImmediate(resolve)); // let writers in between batches
    }
    return total;
  }

  private async sweepAll(): Promise<void> {
    try {
      const n = await this.sweepOnce();
      this.opts.onSwept?.(n);
    } catch (e) {
      this.opts.onError?.(e);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
