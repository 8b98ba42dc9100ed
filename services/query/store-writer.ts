/**
 * The one writer of the event store: events topic → event store, in its own consumer group, so that a slow or
 * unreachable store never delays a page (the processor's transactions do not wait for it). Each batch is validated
 * with the wire contract (invalid records are skipped and counted here; the processor dead-letters them), written
 * with the store's insertBatch (idempotent by event id, one transaction), and only then are its offsets committed.
 * At least once into an idempotent store = every valid event once. A retryable store error (busy, disconnected) is
 * retried with the platform's backoff; anything else stops the batch, which is read again after the restart.
 *
 * Hosted by the processor when its config says `store.enabled` (the usual deployment) and by `signwatch demo`.
 * Lifecycle: start() resolves once the consumer runs; stop() is idempotent and works without start().
 */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { parseEventFast } from '../../schemas/validate.js';
import type { SignEvent } from '../../schemas/events.js';
import { retry } from '../platform/backoff.js';
import { isRetryable } from '../platform/errors.js';
import { createKafka } from '../platform/kafka.js';
import type { KafkaConnectionConfig } from '../platform/kafka-config.js';
import { lifecycle, type Component } from '../platform/lifecycle.js';
import type { Logger } from '../platform/logger.js';
import type { EventStore, StoreInput } from './store.js';

export interface StoreWriterStats {
  stored: number;
  duplicates: number;
  invalid: number;
}

export interface StoreWriter extends Component {
  readonly stats: Readonly<StoreWriterStats>;
}

export interface StoreWriterOptions {
  kafka: KafkaConnectionConfig;
  topic: string;
  groupId: string;
  store: EventStore;
  log: Logger;
  maxEventBytes?: number;
  /**
   * The policy's maxFutureSkew (ms): an event stamped more than this ahead of its record's timestamp is stored with
   * that timestamp as its `future_ref` flag (the processor dead-letters it as future_timestamp). Default 5 min.
   */
  maxFutureSkew?: number;
  /** Called with every valid event after its batch was stored (the demo's live view counts them). */
  onEvent?: (e: SignEvent) => void;
}

export function createStoreWriter(opts: StoreWriterOptions): StoreWriter {
  const kafka = createKafka(opts.kafka, opts.log, '-store');
  const stats: StoreWriterStats = { stored: 0, duplicates: 0, invalid: 0 };
  const maxFutureSkew = opts.maxFutureSkew ?? 5 * 60_000;
  let consumer: Consumer | undefined;

  const eachBatch = async (payload: EachBatchPayload) => {
    const { batch } = payload;
    const rows: StoreInput[] = [];
    for (const m of batch.messages) {
      const raw = m.value?.toString('utf8') ?? '';
      const r = parseEventFast(raw, opts.maxEventBytes ?? 64 * 1024);
      if (!r.ok) {
        stats.invalid++;
        continue;
      }
      const ref = Number(m.timestamp);
      if (Date.parse(r.event.ts) > ref + maxFutureSkew) rows.push({ event: r.event, raw, futureRef: ref });
      else rows.push({ event: r.event, raw });
    }
    if (rows.length) {
      const added = await retry(() => opts.store.insertBatch(rows), {
        attempts: 5,
        baseMs: 200,
        maxMs: 5000,
        isRetryable: (e) => isRetryable(e) && !life.stopping,
        onRetry: (err, attempt, delayMs) => opts.log.warn({ err, attempt, delayMs }, 'event store write failed; retrying'),
      });
      stats.stored += added;
      stats.duplicates += rows.length - added;
      for (const r of rows) opts.onEvent?.(r.event);
    }
    payload.resolveOffset(batch.lastOffset());
    await payload.commitOffsetsIfNecessary();
    await payload.heartbeat();
  };

  const life = lifecycle(
    'store writer',
    async () => {
      const c = kafka.consumer({ groupId: opts.groupId, maxWaitTimeInMs: 100, readUncommitted: false });
      consumer = c;
      await c.connect();
      await c.subscribe({ topic: opts.topic, fromBeginning: true });
      await c.run({ eachBatch, eachBatchAutoResolve: false, autoCommit: true, autoCommitInterval: 500 });
      opts.log.info({ topic: opts.topic, groupId: opts.groupId }, 'store writer started');
    },
    async () => {
      if (consumer) await consumer.disconnect().catch((e: unknown) => opts.log.warn({ err: e }, 'store writer: consumer disconnect failed'));
    },
  );
  return { stats, start: () => life.start(), stop: () => life.stop() };
}
