/**
 * Events topic → event store. The processor (services/processor) writes transitions, hourly aggregates and dead
 * letters, not the store, so the demo runs this small consumer beside it: its own consumer group on the events
 * topic, each batch validated with the wire contract (invalid records are skipped and counted: the processor
 * dead-letters them) and written with the store's insertBatch (idempotent by event id, one transaction), then
 * the offsets are committed. At least once into an idempotent store = every event once.
 *
 * Lifecycle: start() resolves once the consumer runs; stop() is idempotent and works without start().
 */
import kafkajs from 'kafkajs';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { parseEvent, type SignEvent } from '../../schemas/events.js';
import type { EventStore, StoreInput } from '../query/store.js';

const { Kafka, logLevel } = kafkajs;

export interface StoreWriterStats {
  stored: number;
  duplicates: number;
  invalid: number;
}

export interface StoreWriter {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly stats: Readonly<StoreWriterStats>;
}

export function createStoreWriter(opts: {
  brokers: readonly string[];
  topic: string;
  groupId: string;
  store: EventStore;
  /** Called with every valid event after its batch was stored (the demo's live view counts them). */
  onEvent?: (e: SignEvent) => void;
}): StoreWriter {
  const kafka = new Kafka({ clientId: `${opts.groupId}-client`, brokers: [...opts.brokers], logLevel: logLevel.NOTHING });
  const stats: StoreWriterStats = { stored: 0, duplicates: 0, invalid: 0 };
  let consumer: Consumer | undefined;
  let started = false;
  let stopPromise: Promise<void> | undefined;

  const eachBatch = async (payload: EachBatchPayload) => {
    const { batch } = payload;
    const rows: StoreInput[] = [];
    for (const m of batch.messages) {
      const raw = m.value?.toString('utf8') ?? '';
      const r = parseEvent(raw);
      if (r.ok) rows.push({ event: r.event, raw });
      else stats.invalid++;
    }
    if (rows.length) {
      const added = await opts.store.insertBatch(rows);
      stats.stored += added;
      stats.duplicates += rows.length - added;
      for (const r of rows) opts.onEvent?.(r.event);
    }
    payload.resolveOffset(batch.lastOffset());
    await payload.commitOffsetsIfNecessary();
    await payload.heartbeat();
  };

  return {
    stats,
    async start() {
      if (started) return;
      started = true;
      const c = kafka.consumer({ groupId: opts.groupId, maxWaitTimeInMs: 100, readUncommitted: false });
      consumer = c;
      await c.connect();
      await c.subscribe({ topic: opts.topic, fromBeginning: true });
      await c.run({ eachBatch, eachBatchAutoResolve: false, autoCommit: true, autoCommitInterval: 500 });
    },
    stop() {
      stopPromise ??= (async () => {
        if (consumer) await consumer.disconnect().catch(() => {});
      })();
      return stopPromise;
    },
  };
}
