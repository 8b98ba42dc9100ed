/**
 * The Kafka client of every signwatch service (kafkajs): connection settings from the validated config
 * (brokers, client id, TLS, SASL PLAIN / SCRAM), kafkajs logs routed to pino, and topic creation at start-up.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import kafkajs, { type Admin, type ITopicConfig, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import { CodedError, ConfigError } from './errors.js';
import { resolveSaslPassword, type KafkaConnectionConfig, type SaslConfig, type TlsConfig } from './kafka-config.js';
import type { Logger } from './logger.js';
import { codecFactories, type KafkaCodec } from './kafka-codecs.js';

const { Kafka, logLevel, Partitioners, CompressionCodecs, CompressionTypes } = kafkajs;
export { Kafka, Partitioners, CompressionTypes };
export { UNDECODABLE_HEADER, undecodableBatchOf, type UndecodableBatch } from './kafka-codecs.js';

// Every record-batch codec Kafka defines decodes in every consumer (services/platform/kafka-codecs.ts); importing
// this module registers them once for the process.
{
  const codecs = CompressionCodecs as unknown as Record<number, () => KafkaCodec>;
  Object.assign(codecs, codecFactories(codecs[CompressionTypes.GZIP]!));
}

/**
 * The partition a keyed record goes to with the partitioner signwatch's producers use (kafkajs' DefaultPartitioner:
 * murmur2 of the key, the Java client's choice), for `partitions` partitions.
 */
export function keyPartition(key: string, partitions: number): number {
  const partitioner = defaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({ partitionId: i, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
  return partitioner({ topic: '', partitionMetadata, message: { key, value: null } });
}
let partitionerFn: ReturnType<typeof Partitioners.DefaultPartitioner> | undefined;
const defaultPartitioner = () => (partitionerFn ??= Partitioners.DefaultPartitioner());

/** A Kafka failure with a code and whether retrying can help. */
export class KafkaError extends CodedError {}

function readPem(key: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${key}: cannot read ${path}: ${(e as Error).message}`);
  }
}

export function tlsOptions(tls: TlsConfig): boolean | ConnectionOptions {
  if (typeof tls === 'boolean') return tls;
  const o: ConnectionOptions = { rejectUnauthorized: tls.rejectUnauthorized };
  if (tls.caFile) o.ca = [readPem('kafka.tls.caFile', tls.caFile)];
  if (tls.certFile) o.cert = readPem('kafka.tls.certFile', tls.certFile);
  if (tls.keyFile) o.key = readPem('kafka.tls.keyFile', tls.keyFile);
  if (tls.servername) o.servername = tls.servername;
  return o;
}

export function saslOptions(sasl: SaslConfig | undefined, env: NodeJS.ProcessEnv = process.env): SASLOptions | undefined {
  if (!sasl) return undefined;
  const password = resolveSaslPassword(sasl, env);
  return { mechanism: sasl.mechanism, username: sasl.username, password };
}

const LEVEL: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** The kafkajs client for a service. */
export function createKafka(cfg: KafkaConnectionConfig, log: Logger, clientIdSuffix = ''): InstanceType<typeof Kafka> {
  const kcfg: KafkaConfig = {
    clientId: cfg.clientId + clientIdSuffix,
    brokers: [...cfg.brokers],
    ssl: tlsOptions(cfg.tls),
    connectionTimeout: cfg.connectionTimeout,
    requestTimeout: cfg.requestTimeout,
    // kafkajs says INFO for every reconnect; keep WARN+ unless debugging
    logLevel: log.isLevelEnabled('debug') ? logLevel.DEBUG : logLevel.WARN,
    logCreator:
      () =>
      ({ level, label, log: entry }: LogEntry) => {
        const { message, timestamp: _t, logger: _l, ...rest } = entry as LogEntry['log'] & { logger?: string };
        // Bounded retries are deliberate: a transaction that cannot complete is aborted and its partition rebuilt
        // from the committed offset, so kafkajs's "may invalidate EoS guarantees" warning does not apply to us.
        const lvl = message.startsWith('Limiting retries for the idempotent producer') ? 'debug' : (LEVEL[level] ?? 'info');
        log[lvl]({ kafkajs: label, ...rest }, message);
      },
    retry: { initialRetryTime: 200, maxRetryTime: 5000, retries: 10 },
  };
  const sasl = saslOptions(cfg.sasl);
  if (sasl) kcfg.sasl = sasl;
  return new Kafka(kcfg);
}

export interface TopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs?: Record<string, string>;
}

/**
 * Create the topics that do not exist yet (waiting for their leaders); existing topics are left alone,
 * but a partition count lower than configured is reported. Returns the names created.
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[], log: Logger): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.name));
  if (missing.length) {
    const topics: ITopicConfig[] = missing.map((s) => ({
      topic: s.name,
      numPartitions: s.partitions,
      replicationFactor: s.replicationFactor,
      configEntries: Object.entries(s.configs ?? {}).map(([name, value]) => ({ name, value })),
    }));
    try {
      await admin.createTopics({ topics, waitForLeaders: true });
    } catch (e) {
      // another instance may have created them at the same moment
      const err = e as { type?: string; message?: string };
      if (err.type !== 'TOPIC_ALREADY_EXISTS') {
        throw new KafkaError('SW_KAFKA_TOPICS', `cannot create topics ${missing.map((m) => m.name).join(', ')}: ${err.message ?? String(e)}`, { cause: e });
      }
    }
    log.info({ topics: missing.map((m) => `${m.name}(${m.partitions})`) }, 'created topics');
  }
  const present = specs.filter((s) => existing.has(s.name));
  if (present.length) {
    const meta = await admin.fetchTopicMetadata({ topics: present.map((s) => s.name) });
    for (const t of meta.topics) {
      const want = specs.find((s) => s.name === t.name)!.partitions;
      if (t.partitions.length !== want) log.warn({ topic: t.name, partitions: t.partitions.length, configured: want }, 'existing topic has a different partition count than configured');
    }
  }
  return missing.map((m) => m.name);
}

/** The broker's default record-batch limit (message.max.bytes) when a topic's own cannot be read. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/** Each topic's max.message.bytes (the largest record batch it accepts); the broker default where unreadable. */
export async function topicMaxMessageBytes(admin: Admin, topics: readonly string[], log: Logger): Promise<Map<string, number>> {
  const out = new Map<string, number>(topics.map((t) => [t, DEFAULT_MAX_MESSAGE_BYTES]));
  try {
    const r = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [...new Set(topics)].map((name) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] })),
    });
    for (const res of r.resources) {
      const v = Number(res.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
      if (Number.isFinite(v) && v > 0) out.set(res.resourceName, v);
    }
  } catch (e) {
    log.warn({ err: e, topics }, `cannot read max.message.bytes; assuming ${DEFAULT_MAX_MESSAGE_BYTES}`);
  }
  return out;
}
