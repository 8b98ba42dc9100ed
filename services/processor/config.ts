/**
 * Configuration of the live processor (`signwatch processor`): defaults + strict zod schema + frozen result.
 * Errors name the offending key (`processor config: kafka.sasl.mechanism: …`) and carry a code.
 *
 * Secrets never come from argv: a SASL password is read from a file (`passwordFile`) or from an environment
 * variable whose *name* is configured (`passwordEnv`, default SIGNWATCH_KAFKA_PASSWORD). The resolved password is
 * kept out of logs by the logger's redaction paths.
 */
import { z } from 'zod';
import { DurationMs } from '../platform/validation.js';
import { loadConfigFile } from '../platform/config-file.js';
import { ConfigError } from '../platform/errors.js';
import { KafkaConnection } from '../platform/kafka-config.js';
import { parseConfig } from '../platform/validation.js';
import { carriesPassword } from '../platform/check-config.js';

export { ConfigError } from '../platform/errors.js';
export { resolveSaslPassword } from '../platform/kafka-config.js';

const TopicName = z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be 1-249 characters of [a-zA-Z0-9._-]');

const Topic = (name: string, partitions: number) =>
  z
    .strictObject({
      name: TopicName.default(name),
      partitions: z.number().int().min(1).max(1024).default(partitions),
    })
    .prefault({});

export const ProcessorConfig = z.strictObject({
  kafka: KafkaConnection('signwatch-processor'),
  topics: z
    .strictObject({
      /** Created at start-up when missing (with these partition counts); existing topics are left as they are. */
      create: z.boolean().default(true),
      replicationFactor: z.number().int().min(1).max(16).default(1),
      events: Topic('events.v1', 6),
      dlq: Topic('dlq.v1', 1),
      alerts: Topic('alerts.v1', 1),
      hourly: Topic('hourly.v1', 1),
      /**
       * Fleet alerts (parity_drift) compare hosts across every region, so they cannot run per events partition: each
       * partition forwards the accepted events a fleet alert reads (heartbeats) here, in its own transaction, and the
       * instance that owns this topic's one partition runs the fleet alerts over all of them (docs/processor.md).
       */
      fleet: z
        .strictObject({
          name: TopicName.default('fleet.v1'),
          partitions: z.literal(1, { message: 'the fleet topic has exactly one partition (one fleet clock)' }).default(1),
        })
        .prefault({}),
      /**
       * Checkpoints of the engine state (default `<groupId>.state`: the state belongs to the consumer group;
       * compacted, created with the events topic's partition count: partition p holds events partition p's).
       */
      state: z.strictObject({ name: TopicName.optional() }).prefault({}),
      /** retention.ms of topics the processor creates; the events topic must keep at least the rebuild horizon. */
      retention: DurationMs.default(7 * 86_400_000),
    })
    .prefault({}),
  consumer: z
    .strictObject({
      /** A killed instance's partitions move to the others after this (broker bounds: 6 s .. 30 min by default). */
      sessionTimeout: DurationMs.default(10_000),
      rebalanceTimeout: DurationMs.default(30_000),
      heartbeatInterval: DurationMs.default(1000),
      maxWaitTime: DurationMs.default(250),
      maxBytesPerPartition: z.number().int().min(65_536).max(64 * 1_048_576).default(4 * 1_048_576),
      /** Partitions processed at the same time (one partition's transaction can overlap another's processing; no gain measured on 2 cores). */
      partitionsConsumedConcurrently: z.number().int().min(1).max(64).default(1),
    })
    .prefault({}),
  /** Consumer group of the processor instances (scale-out: same groupId). */
  groupId: z.string().min(1).max(200).default('signwatch-processor'),
  /** Prefix of the per-partition transactional ids: `<prefix>.<events topic>.<partition>`. */
  transactionalIdPrefix: z.string().min(1).max(200).optional(),
  /**
   * wall (default): the engine's clock also follows the broker's append time of each record and, while a partition
   * is caught up, the wall clock; both minus clockDelay. Alerts resolve in quiet regions.
   * event: event time only (what `signwatch replay` does).
   */
  clock: z.enum(['wall', 'event']).default('wall'),
  tickInterval: DurationMs.default(1000),
  /**
   * Wall mode: the engine's clock runs this far behind the broker's append time / the wall clock, so an event that
   * reaches the processor within this delay is evaluated at its own time (a page says when the third failure
   * happened, not when it was read), and an idle tick never runs ahead of a record the broker already appended.
   */
  clockDelay: DurationMs.default(2000),
  /**
   * Where state rebuild starts on assignment: `earliest` (default: the whole retained log, exact) or `horizon`
   * (record time of the committed position − the policy's state horizon: hourly retention + lateness + longest
   * window or staleness; for high-volume topics with long retention, exact up to rule state older than that).
   */
  rebuildFrom: z.enum(['earliest', 'horizon']).default('earliest'),
  /**
   * Bounded recovery: every `batches` batches or `interval`, whichever comes first, a partition's transaction also
   * writes the partition's whole engine state to the state topic (the offset metadata points at it). On assignment
   * the latest checkpoint is loaded and only the records after it are re-read; without a usable one (none yet,
   * unreadable, another version or policy) the partition is rebuilt as `rebuildFrom` says, and the log says why.
   */
  checkpoint: z
    .strictObject({
      enabled: z.boolean().default(true),
      interval: DurationMs.default(60_000),
      batches: z.number().int().min(1).max(1_000_000).default(500),
      /** A checkpoint that cannot be read within this after assignment is given up (rebuild instead). */
      loadTimeout: DurationMs.default(30_000),
    })
    .prefault({}),
  /** A batch with no output is committed at most this often (its offsets ride on the next transaction). */
  commitInterval: DurationMs.default(1000),
  maxEventBytes: z.number().int().min(256).max(1_048_576).default(64 * 1024),
  /**
   * Event store (optional): the processor also runs the store writer (services/query/store-writer.ts), which reads
   * the events topic in its own consumer group (`<groupId>.store`) and writes every valid event, idempotently by id.
   * `spec`: sqlite:PATH or postgres://… (a password belongs in the environment variable named by specEnv, or in
   * PGPASSWORD, never in the file or argv).
   */
  store: z
    .strictObject({
      enabled: z.boolean().default(false),
      spec: z
        .string()
        .min(1)
        .refine((v) => !carriesPassword(v), 'do not put a password in the config file; use the environment variable named by store.specEnv (default SIGNWATCH_STORE) or $PGPASSWORD')
        .optional(),
      specEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name').default('SIGNWATCH_STORE'),
      retention: DurationMs.default(30 * 86_400_000),
    })
    .prefault({}),
  /** Path of the alert policy (YAML/JSON); built-in defaults when absent. */
  policy: z.string().min(1).optional(),
  metrics: z
    .strictObject({
      enabled: z.boolean().default(true),
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(9464),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
});

export type ProcessorConfig = z.infer<typeof ProcessorConfig>;

/** The state topic's name: configured, or `<groupId>.state`. */
export const stateTopicOf = (c: Readonly<ProcessorConfig>): string => c.topics.state.name ?? `${c.groupId}.state`;

/** Validate and freeze; every problem is reported with its key path. */
export function parseProcessorConfig(input: unknown, source = 'processor config'): Readonly<ProcessorConfig> {
  return checkTopics(parseConfig(ProcessorConfig, input, source), source);
}

function checkTopics(c: Readonly<ProcessorConfig>, source: string): Readonly<ProcessorConfig> {
  const names = [c.topics.events.name, c.topics.dlq.name, c.topics.alerts.name, c.topics.hourly.name, c.topics.fleet.name, stateTopicOf(c)];
  if (new Set(names).size !== names.length) throw new ConfigError(`${source}: topics: the events, dlq, alerts, hourly, fleet and state topics must be distinct`);
  return c;
}

/** Read a YAML or JSON config file (file:line: key: reason on errors), apply overrides (dotted keys, already typed), validate. */
export function loadProcessorConfig(path: string | undefined, overrides: Record<string, unknown> = {}): Readonly<ProcessorConfig> {
  return checkTopics(loadConfigFile(ProcessorConfig, path, 'processor config', overrides), path ?? 'processor config');
}
