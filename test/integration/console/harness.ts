/**
 * What the console's browser tests share: where Chromium and the broker are, when to skip, and an alert topic of the
 * test's own (unique name) with a producer, the console's state fed from it by the real alert-topic reader, and
 * telemetry. The reader is not started: each test starts it once the topic holds what the console must rebuild.
 */
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { Producer } from 'kafkajs';
import { testKafka } from '../../harness/kafka.js';
import { parseKafkaConnection } from '../../../services/platform/kafka-connection.js';
import { createTelemetry, type Telemetry } from '../../../services/platform/telemetry.js';
import { defaultPolicy } from '../../../services/engine/policy.js';
import { alertTopicReader } from '../../../services/alerting/alert-topic.js';
import { ConsoleState } from '../../../services/console/state.js';
import type { Transition } from '../../../services/engine/types.js';

export const CHROMIUM = process.env.SIGNWATCH_CHROMIUM ?? '/usr/bin/chromium';
export const BROKERS = (process.env.SIGNWATCH_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
export const skip =
  process.env.SIGNWATCH_INTEGRATION !== '1'
    ? 'needs the real broker: SIGNWATCH_INTEGRATION=1 after `npm run kafka:start`'
    : !existsSync(CHROMIUM)
      ? `needs Chromium at ${CHROMIUM} (Debian package chromium, or SIGNWATCH_CHROMIUM=PATH)`
      : false;
/** How puppeteer-core starts the system's Chromium (it downloads none). */
export const LAUNCH = { executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] };

export interface AlertTopicRig {
  readonly topic: string;
  readonly producer: Producer;
  /** Produce transitions as the processor writes them (key = dedup key, acks=all). */
  readonly produce: (ts: Transition[]) => Promise<unknown>;
  readonly state: ConsoleState;
  readonly telemetry: Telemetry;
  readonly reader: ReturnType<typeof alertTopicReader>;
  /** Stops the reader, deletes the topic, disconnects. */
  readonly close: () => Promise<void>;
}

export async function alertTopicRig(clientId: string, state = new ConsoleState(defaultPolicy())): Promise<AlertTopicRig> {
  const kafka = testKafka(BROKERS, clientId);
  const topic = `${clientId}-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const telemetry = createTelemetry({ serviceName: 'signwatch-console-test', host: '127.0.0.1', port: 0, serve: false });
  const reader = alertTopicReader({ kafka: parseKafkaConnection({ brokers: BROKERS }, clientId), topic, logger: pino({ level: 'silent' }), onTransition: (t) => state.apply(t) });
  return {
    topic,
    producer,
    produce: (ts) => producer.send({ topic, acks: -1, messages: ts.map((t) => ({ key: t.dedupKey, value: JSON.stringify(t) })) }),
    state,
    telemetry,
    reader,
    close: async () => {
      await reader.stop();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}
