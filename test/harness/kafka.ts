/**
 * The tests' Kafka client: the platform's one client module (services/platform/kafka.ts, createKafka) with the
 * default connection block for these brokers and a silent logger, so no test builds its own kafkajs client.
 */
import { pino } from 'pino';
import { createKafka, Partitioners } from '../../services/platform/kafka.js';
import { parseKafkaConnection } from '../../services/platform/kafka-connection.js';

export { Partitioners };

export function testKafka(brokers: readonly string[] | string, clientId = 'sw-test'): ReturnType<typeof createKafka> {
  const list = typeof brokers === 'string' ? brokers.split(',').map((s) => s.trim()).filter(Boolean) : [...brokers];
  return createKafka(parseKafkaConnection({ brokers: list }, clientId), pino({ level: 'silent' }));
}
