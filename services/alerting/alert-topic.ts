/**
 * Reads alert transitions from the alert topic (alerts.v1, JSON Transition per message; committed records only),
 * from the beginning, so a consumer such as the release gate rebuilds its state after a restart.
 * A fresh consumer group per start and no offset commits: every start replays the whole topic.
 * Lifecycle: start() resolves once the consumer is running; stop() idempotent.
 */
import { createKafka } from '../platform/kafka.js';
import type { KafkaConnectionSettings } from '../platform/kafka-connection.js';
import { createLogger, type Logger } from '../platform/logger.js';
import { randomUUID } from 'node:crypto';
import type { Transition } from '../engine/types.js';

export interface AlertTopicReader {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Number of transitions applied so far. */
  readonly applied: number;
}

export function isTransition(v: unknown): v is Transition {
  const t = v as Partial<Transition> | null;
  return !!t && t.kind === 'transition' && typeof t.dedupKey === 'string' && (t.state === 'firing' || t.state === 'resolved') && typeof t.alert === 'string';
}

/** Decode one alert-topic record: a transition, or why it is not one (`hourly` and `drill` records are not errors). */
export function decodeTransition(value: Buffer | null): { t: Transition } | { reason: 'not JSON' | 'not a transition' | 'hourly' | 'drill' } {
  let v: unknown;
  try {
    v = JSON.parse(value?.toString('utf8') ?? '');
  } catch {
    return { reason: 'not JSON' };
  }
  if (isTransition(v)) return { t: v };
  const kind = (v as { kind?: unknown } | null)?.kind;
  return { reason: kind === 'hourly' ? 'hourly' : kind === 'drill' ? 'drill' : 'not a transition' };
}

export function alertTopicReader(opts: {
  /** The connection block (brokers, TLS, SASL, timeouts): the same `kafka:` block as every component. */
  kafka: KafkaConnectionSettings;
  topic: string;
  logger?: Logger;
  onTransition: (t: Transition) => void;
  onInvalid?: (reason: string) => void;
}): AlertTopicReader {
  const kafka = createKafka(opts.kafka, opts.logger ?? createLogger({ name: 'signwatch-gate', level: 'silent' }));
  const consumer = kafka.consumer({ groupId: `signwatch-gate-${randomUUID()}`, readUncommitted: false });
  let started = false;
  let stopped = false;
  const r = {
    applied: 0,
    async start() {
      if (started) return;
      started = true;
      await consumer.connect();
      await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ message }) => {
          await Promise.resolve();
          const d = decodeTransition(message.value);
          if (!('t' in d)) {
            if (d.reason !== 'hourly' && d.reason !== 'drill') opts.onInvalid?.(d.reason);
            return;
          }
          opts.onTransition(d.t);
          r.applied++;
        },
      });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await consumer.disconnect();
    },
  };
  return r;
}
