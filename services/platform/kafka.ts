/**
 * The Kafka client of every signwatch service (kafkajs): connection settings from the validated config
 * (brokers, client id, TLS, SASL PLAIN / SCRAM), kafkajs logs routed to pino, and topic creation at start-up.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import kafkajs, { type Admin, type ITopicConfig, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import { CodedError, ConfigError } from './errors.js';
import { describeConnection, resolveSaslPassword, type KafkaConnectionSettings, type SaslSettings, type TlsFiles } from './kafka-connection.js';
import type { Logger } from './logger.js';
import { codecFactories, type KafkaCodec } from './kafka-codecs.js';

const { Kafka, logLevel, Partitioners, CompressionCodecs, CompressionTypes, ConfigResourceTypes } = kafkajs;
export { Kafka, Partitioners, CompressionTypes, CompressionCodecs, ConfigResourceTypes };
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
  // the processor asks once per record (5 region keys): murmur2 + kafkajs' Long arithmetic was ~9 % of its CPU
  // (bench/RESULTS.md), so answers are kept, a bounded number of them
  let byKey = partitionCache.get(partitions);
  if (!byKey) partitionCache.set(partitions, (byKey = new Map<string, number>()));
  const known = byKey.get(key);
  if (known !== undefined) return known;
  const partitioner = defaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({ partitionId: i, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
  const p = partitioner({ topic: '', partitionMetadata, message: { key, value: null } });
  if (byKey.size >= 4096) byKey.clear();
  byKey.set(key, p);
  return p;
}
const partitionCache = new Map<number, Map<string, number>>();
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

export function tlsOptions(tls: boolean | TlsFiles): boolean | ConnectionOptions {
  if (typeof tls === 'boolean') return tls;
  const o: ConnectionOptions = { rejectUnauthorized: tls.rejectUnauthorized };
  if (tls.caFile) o.ca = [readPem('kafka.tls.caFile', tls.caFile)];
  if (tls.certFile) o.cert = readPem('kafka.tls.certFile', tls.certFile);
  if (tls.keyFile) o.key = readPem('kafka.tls.keyFile', tls.keyFile);
  if (tls.servername) o.servername = tls.servername;
  return o;
}

export function saslOptions(sasl: SaslSettings | undefined, env: NodeJS.ProcessEnv = process.env): SASLOptions | undefined {
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

export interface CreateKafkaOptions {
  /** Retries of one request or connection (default 10, backoff 200 ms .. 5 s). */
  retries?: number;
}

/**
 * The kafkajs client for a service. kafkajs's own log lines go to the service's logger; its ERROR lines (every
 * failed connection attempt, with a stack) only at debug: the component says once, in its own words, what failed
 * (connectKafka, explainKafkaError).
 */
export function createKafka(cfg: KafkaConnectionSettings, log: Logger, clientIdSuffix = '', opts: CreateKafkaOptions = {}): InstanceType<typeof Kafka> {
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
        const lvl = message.startsWith('Limiting retries for the idempotent producer') || level === logLevel.ERROR ? 'debug' : (LEVEL[level] ?? 'info');
        log[lvl]({ kafkajs: label, ...rest }, message);
      },
    retry: { initialRetryTime: 200, maxRetryTime: 5000, retries: opts.retries ?? 10 },
  };
  const sasl = saslOptions(cfg.sasl);
  if (sasl) kcfg.sasl = sasl;
  return new Kafka(kcfg);
}

/** What a failed Kafka call means, in one line, and whether trying again can help. */
export interface KafkaProblem {
  code: 'SW_KAFKA_CONNECT' | 'SW_KAFKA_AUTH' | 'SW_KAFKA_TLS';
  reason: string;
  retryable: boolean;
}

const TLS_TRUST = /certificate|self[- ]signed|unable to verify|UNABLE_TO_|CERT_|DEPTH_ZERO|ERR_TLS_|wrong version number|SSL routines/i;

/** The innermost kafkajs / node error under retries and wrappers. */
function innermost(e: unknown): Error & { code?: string; name: string } {
  let cur = e as Error & { cause?: unknown; originalError?: unknown; code?: string };
  for (let i = 0; i < 8; i++) {
    const next = (cur.cause ?? cur.originalError) as typeof cur | undefined;
    if (!next || typeof next !== 'object') break;
    cur = next;
  }
  return cur;
}

/**
 * Classify a kafkajs failure (connect, send, fetch): a wrong password or an untrusted certificate is not retryable
 * and says what to change; an unreachable broker is. Never contains the password.
 */
export function explainKafkaError(e: unknown, cfg: Pick<KafkaConnectionSettings, 'tls' | 'sasl'>): KafkaProblem {
  const all = [e, innermost(e)].map((x) => x as Error & { name?: string; code?: string });
  const text = all.map((x) => `${x?.name ?? ''} ${x?.message ?? String(x)} ${x?.code ?? ''}`).join(' ');
  const last = all[1]!;
  const msg = (last?.message ?? String(e)).replace(/^Connection error: /, '');
  if (/SASL|authentication failed|Authentication failed/i.test(text)) {
    return {
      code: 'SW_KAFKA_AUTH',
      retryable: false,
      reason: cfg.sasl
        ? `SASL ${cfg.sasl.mechanism} authentication of user ${cfg.sasl.username} was refused (wrong user name or password, or a mechanism the listener does not enable): ${msg.replace(/^SASL [^:]*: /, '')}`
        : `the broker asked for SASL authentication, but kafka.sasl is not configured: ${msg}`,
    };
  }
  if (cfg.tls !== false && TLS_TRUST.test(text)) {
    const hint = typeof cfg.tls === 'object' && cfg.tls.caFile !== undefined ? `is kafka.tls.caFile (${cfg.tls.caFile}) the CA that signed it?` : 'set kafka.tls.caFile to the CA that signed it';
    return { code: 'SW_KAFKA_TLS', retryable: false, reason: `TLS: the broker's certificate is not trusted (${msg}); ${hint}` };
  }
  if (cfg.tls === false && /Closed connection|ECONNRESET|socket hang up/i.test(text)) {
    return { code: 'SW_KAFKA_CONNECT', retryable: true, reason: `${msg} (the broker closed the connection: is this a TLS listener? then set kafka.tls)` };
  }
  return { code: 'SW_KAFKA_CONNECT', retryable: true, reason: msg };
}

export interface ConnectOptions {
  /** The command, for the message: `signwatch <command>: Kafka: …`. */
  command: string;
  /** Give up after this long (default: the block's connectionTimeout). */
  timeoutMs?: number;
}

/**
 * Check that the configured cluster answers (connect, authenticate, describe the cluster) before a component starts
 * its clients, trying again until the deadline; a wrong password or an untrusted certificate fails at once. Throws a
 * KafkaError whose message is the one line a user needs:
 *   signwatch processor: Kafka: cannot connect to 127.0.0.1:9092 (plaintext): 4 attempts in 3.0 s; last: connect ECONNREFUSED 127.0.0.1:9092
 */
export async function connectKafka(cfg: KafkaConnectionSettings, log: Logger, o: ConnectOptions): Promise<void> {
  const timeoutMs = o.timeoutMs ?? cfg.connectionTimeout;
  const t0 = Date.now();
  const deadline = t0 + timeoutMs;
  let attempts = 0;
  let problem: KafkaProblem | undefined;
  // distinct reasons in the order seen (several brokers: each seed broker's own failure)
  const reasons = new Set<string>();
  for (;;) {
    attempts++;
    const remaining = Math.max(100, deadline - Date.now());
    // kafkajs starts at the first seed broker of its list: rotate it, so that each attempt asks the next broker
    const k = (attempts - 1) % cfg.brokers.length;
    const brokers = [...cfg.brokers.slice(k), ...cfg.brokers.slice(0, k)];
    const kafka = createKafka({ ...cfg, brokers, connectionTimeout: Math.min(cfg.connectionTimeout, remaining), requestTimeout: Math.min(cfg.requestTimeout, remaining) }, log, '-connect', { retries: 0 });
    const admin = kafka.admin();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        (async () => {
          await admin.connect();
          await admin.describeCluster();
        })(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${remaining} ms`)), remaining);
        }),
      ]);
      log.debug({ brokers: cfg.brokers, attempts, ms: Date.now() - t0 }, 'kafka: connected');
      return;
    } catch (e) {
      problem = explainKafkaError(e, cfg);
      reasons.add(problem.reason);
      log.debug({ err: e, attempt: attempts }, 'kafka: connection attempt failed');
    } finally {
      clearTimeout(timer);
      await admin.disconnect().catch(() => undefined);
    }
    if (!problem.retryable || Date.now() + 200 >= deadline) break;
    await new Promise((r) => setTimeout(r, Math.min(500, 100 * attempts, deadline - Date.now())));
    if (Date.now() >= deadline) break;
  }
  const took = ((Date.now() - t0) / 1000).toFixed(1);
  throw new KafkaError(
    problem.code,
    `signwatch ${o.command}: Kafka: cannot connect to ${describeConnection(cfg)}: ${
      !problem.retryable ? problem.reason : `${attempts} attempt${attempts === 1 ? '' : 's'} in ${took} s; ${reasons.size > 1 ? `tried: ${[...reasons].slice(-4).join('; ')}` : `last: ${problem.reason}`}`
    }`,
    { retryable: problem.retryable },
  );
}

/** A topic's `message.timestamp.type` (LogAppendTime or CreateTime), or undefined when the broker does not say. */
export async function topicTimestampType(admin: Admin, topic: string): Promise<'LogAppendTime' | 'CreateTime' | undefined> {
  const r = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['message.timestamp.type'] }] });
  const v = r.resources[0]?.configEntries.find((e) => e.configName === 'message.timestamp.type')?.configValue;
  return v === 'LogAppendTime' || v === 'CreateTime' ? v : undefined;
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
