/**
 * Where the daemon ships spooled events. Lifecycle: send() may be called without a separate start (the Kafka target
 * connects lazily); close() is idempotent and works without any send.
 * - KafkaTarget: kafkajs producer, acks=all (-1), idempotent, one request in flight; messages keyed by region.
 *   A failed send throws (the spool keeps the events) and drops the producer, so the next send starts a fresh
 *   idempotent session: at least once, duplicates removed downstream by event id.
 * - NdjsonTarget: appends lines to a file or stdout (debugging, tests).
 */
import { CodedError } from '../../platform/errors.js';
import { appendFileSync, writeSync } from 'node:fs';
import type { Kafka, Producer } from 'kafkajs';

export interface OutMessage {
  key: string;
  value: string;
}

export interface ShipTarget {
  readonly name: string;
  send(messages: readonly OutMessage[]): Promise<void>;
  close(): Promise<void>;
}

export class ShipError extends CodedError {}

export interface KafkaTargetOptions {
  brokers: readonly string[];
  topic: string;
  clientId: string;
  /** Bound on one send, after which the producer is dropped and the batch retried later. */
  sendTimeoutMs?: number;
}

export class KafkaTarget implements ShipTarget {
  readonly name = 'kafka';
  private kafka: Kafka | undefined;
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;

  constructor(private readonly opts: KafkaTargetOptions) {}

  private async getProducer(): Promise<Producer> {
    if (this.producer) return this.producer;
    this.connecting ??= (async () => {
      const { Kafka, logLevel } = (await import('kafkajs')).default;
      this.kafka ??= new Kafka({
        clientId: this.opts.clientId,
        brokers: [...this.opts.brokers],
        logLevel: logLevel.NOTHING,
        connectionTimeout: 3000,
        requestTimeout: 15000,
        retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 5000 },
      });
      const p = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
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
          await p.send({ topic: this.opts.topic, acks: -1, messages: messages.map((m) => ({ key: m.key, value: m.value })) });
        })(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new ShipError('SW_KAFKA_TIMEOUT', `kafka: send timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (e) {
      await this.reset();
      if (e instanceof ShipError) throw e;
      throw new ShipError('SW_KAFKA_SEND', `kafka: ${(e as Error).message}`);
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
    else appendFileSync(this.path, text);
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
