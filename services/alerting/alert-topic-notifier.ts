/**
 * The direct path's last leg: alert topic (alerts.v1, read committed) → notifier (durable outbox) → PagerDuty /
 * ticket webhook. A consumer group with committed offsets: an offset is committed only after the notifier has
 * accepted (fsynced) the transition, and the outbox remembers transition ids, so a restart or rebalance re-reads
 * at most a few transitions and sends none of them twice.
 * Lifecycle: start() resolves when the consumer runs; stop() idempotent (disconnects, then stops the notifier).
 */
import { createKafka } from '../platform/kafka.js';
import type { KafkaConnectionSettings } from '../platform/kafka-connection.js';
import { createLogger, type Logger } from '../platform/logger.js';
import type { Notifier } from './notifier.js';
import type { Transition } from '../engine/types.js';
import { decodeTransition } from './alert-topic.js';

export interface AlertTopicNotifier {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function alertTopicNotifier(opts: {
  /** The connection block (brokers, TLS, SASL, timeouts): the same `kafka:` block as every component. */
  kafka: KafkaConnectionSettings;
  topic: string;
  groupId?: string;
  notifier: Notifier;
  logger?: Logger;
  /** Also called for every transition (e.g. the release gate's apply). */
  onTransition?: (t: Transition) => void;
}): AlertTopicNotifier {
  const kafka = createKafka(opts.kafka, opts.logger ?? createLogger({ name: 'signwatch-notifier', level: 'silent' }));
  const consumer = kafka.consumer({ groupId: opts.groupId ?? 'signwatch-notifier', readUncommitted: false, maxWaitTimeInMs: 100 });
  let started = false;
  let stopped = false;
  return {
    async start() {
      if (started) return;
      started = true;
      await opts.notifier.start();
      await consumer.connect();
      await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
      await consumer.run({
        autoCommit: true,
        autoCommitInterval: 1000,
        eachMessage: async ({ message }) => {
          await Promise.resolve();
          const d = decodeTransition(message.value);
          if (!('t' in d)) {
            // hourly aggregates and other kinds share no topic with us, but be lenient
            if (d.reason === 'not JSON') opts.logger?.warn({ offset: message.offset }, 'alert topic: not JSON, skipped');
            return;
          }
          opts.notifier.accept(d.t); // durable before the offset can be committed
          opts.onTransition?.(d.t);
        },
      });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await consumer.disconnect();
      await opts.notifier.stop();
    },
  };
}
