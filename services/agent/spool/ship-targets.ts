/**
 * Where the daemon ships spooled events. Lifecycle: send() may be called without a separate start (the Kafka target
 * connects lazily); close() is idempotent and works without any send.
 * - KafkaTarget: a producer of the platform's Kafka client (services/platform/kafka.ts, loaded on first send: the
 *   same `kafka:` block as every component, TLS and SASL included), acks=all (-1), idempotent, one request in
 *   flight; messages keyed by region. A failed send throws (the spool keeps the events) with one line naming the
 *   brokers and why (wrong password, untrusted certificate, unreachable), and drops the producer, so the next send
 *   starts a fresh idempotent session: at least once, duplicates removed downstream by event id.
 * - NdjsonTarget: appends lines to a file or stdout (debugging, tests).
 */
import { CodedError } from '../../platform/errors.js';
import { writeSync } from 'node:fs';
import { appendPrivate } from '../../platform/files.js';
import type { Producer } from 'kafkajs';
import { describeConnection, type KafkaConnectionSettings } from '../../platform/kafka-connection.js';
import type { Logger } from '../../platform/logger.js';
import type * as PlatformKafkaModule from '../../platform/kafka.js';

/** The platform's Kafka module, imported on first send (it loads kafkajs). */
type PlatformKafka = typeof PlatformKafkaModule;

export interface OutMessage {
  key: string;
  value: string;
  /** Kafka record headers (W3C `traceparent` of the event's ship span). */
  headers?: Record<string, string>;
}

export interface ShipTarget {
  readonly name: string;
  send(messages: readonly OutMessage[]): Promise<void>;
  close(): Promise<void>;
}

export class ShipError extends CodedError {}

export interface KafkaTargetOptions {
  /** The connection block (brokers, clientId, tls, sasl, timeouts). */
  kafka: KafkaConnectionSettings;
  topic: string;
  /** Appended to kafka.clientId (the daemon adds `-<host>`). */
  clientIdSuffix?: string;
  /** kafkajs's own lines go here (its errors at debug); default: silent. */
  log?: Logger;
  /** Bound on one send, after which the producer is dropped and the batch retried later. */
  sendTimeoutMs?: number;
}

export class KafkaTarget implements ShipTarget {
  readonly name = 'kafka';
  private kafka: ReturnType<PlatformKafka['createKafka']> | undefined;
  private platform: PlatformKafka | undefined;
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;

  constructor(private readonly opts: KafkaTargetOptions) {}

  private async getProducer(): Promise<Producer> {
    if (this.producer) return this.producer;
    this.connecting ??= (async () => {
      this.platform ??= await import('../../platform/kafka.js');
      const log = this.opts.log ?? (await import('../../platform/logger.js')).createLogger({ name: 'signwatch-agent', level: 'silent' });
      this.kafka ??= this.platform.createKafka(this.opts.kafka, log, this.opts.clientIdSuffix ?? '', { retries: 3 });
      // the default partitioner named, so kafkajs does not warn about its v2 change on every start
      const p = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: this.platform.Partitioners.DefaultPartitioner });
      try {
        await p.connect();
      } catch (e) {
        await p.disconnect().catch(() => undefined);
        throw e;
      }
      this.producer = p;
      return p;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  async send(messages: readonly OutMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const timeoutMs = this.opts.sendTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        (async () => {
          const p = await this.getProducer();
          await p.send({ topic: this.opts.topic, acks: -1, messages: messages.map((m) => (m.headers ? { key: m.key, value: m.value, headers: m.headers } : { key: m.key, value: m.value })) });
        })(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new ShipError('SW_KAFKA_TIMEOUT', `kafka: send timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (e) {
      await this.reset();
      if (e instanceof ShipError) throw e;
      const why = this.platform ? this.platform.explainKafkaError(e, this.opts.kafka) : { code: 'SW_KAFKA_SEND' as const, reason: (e as Error).message, retryable: true };
      throw new ShipError(why.code === 'SW_KAFKA_CONNECT' ? 'SW_KAFKA_SEND' : why.code, `kafka: cannot ship to ${describeConnection(this.opts.kafka)}: ${why.reason}`, { retryable: why.retryable });
    } finally {
      clearTimeout(timer);
    }
  }

  private async reset(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    if (p) await p.disconnect().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.reset();
  }
}

export class NdjsonTarget implements ShipTarget {
  readonly name: string;
  constructor(private readonly path: string) {
    // path '-' means stdout
    this.name = path === '-' ? 'ndjson:-' : `ndjson:${path}`;
  }
  send(messages: readonly OutMessage[]): Promise<void> {
    const text = messages.map((m) => `${m.value}\n`).join('');
    if (this.path === '-') writeSync(1, text);
    else appendPrivate(this.path, text);
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
