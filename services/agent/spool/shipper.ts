/**
 * Moves events from the spool to the sinks in order, in batches, and deletes a batch only after every sink
 * acknowledged it (Kafka: acks=all). A crash between the acknowledgement and the delete re-sends the batch
 * (at least once). Unparseable spool files are moved aside and counted, never allowed to block the queue.
 */
import type { ShipTarget, OutMessage } from './ship-targets.js';
import type { Spool } from './spool.js';

export interface ShipStats {
  shipped: number;
  batches: number;
  failures: number;
  quarantined: number;
  lastError?: string;
}

export class Shipper {
  readonly stats: ShipStats = { shipped: 0, batches: 0, failures: 0, quarantined: 0 };

  constructor(
    private readonly spool: Spool,
    private readonly sinks: readonly ShipTarget[],
    private readonly batchSize = 500,
  ) {}

  /** Ship one batch. Returns the number of events shipped (0 when the spool is empty). Throws on sink failure. */
  async shipOnce(): Promise<number> {
    const all = this.spool.list();
    if (all.length === 0) return 0;
    const messages: OutMessage[] = [];
    const sent: string[] = [];
    for (const n of all) {
      if (messages.length >= this.batchSize) break;
      const lines = this.spool.read(n);
      // only entries read are removed after the send: one a writer dropped before we read it stays counted dropped
      if (lines === undefined) continue;
      sent.push(n);
      const bad: string[] = [];
      for (const line of lines) {
        let region: unknown;
        try {
          region = (JSON.parse(line) as { region?: unknown }).region;
        } catch {
          bad.push(line);
          continue;
        }
        messages.push({ key: typeof region === 'string' ? region : 'unknown', value: line });
      }
      if (bad.length) {
        this.spool.quarantine(n, bad);
        this.stats.quarantined += bad.length;
      }
    }
    try {
      if (messages.length) for (const s of this.sinks) await s.send(messages);
    } catch (e) {
      this.stats.failures++;
      this.stats.lastError = (e as Error).message;
      throw e;
    }
    this.spool.remove(sent);
    this.stats.shipped += messages.length;
    this.stats.batches++;
    return Math.max(messages.length, 1);
  }

  /** Ship until the spool is empty or `deadline` (epoch ms) passes. Returns true when the spool was emptied. */
  async drain(deadline: number): Promise<boolean> {
    while (Date.now() < deadline) {
      if ((await this.shipOnce()) === 0) return true;
    }
    return this.spool.depth() === 0;
  }
}
