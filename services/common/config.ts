/**
 * Configuration of the live processor (`signwatch processor`): defaults + strict zod schema + frozen result.
 * Errors name the offending key (`processor config: kafka.sasl.mechanism: …`) and carry a code.
 *
 * Secrets never come from argv: a SASL password is read from a file (`passwordFile`) or from an environment
 * variable whose *name* is configured (`passwordEnv`, default SIGNWATCH_KAFKA_PASSWORD). The resolved password is
 * kept out of logs by the logger's redaction paths.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DurationMs } from '../../schemas/duration.js';

export class ConfigError extends Error {
  readonly code = 'SW_CONFIG_INVALID';
  readonly retryable = false;
}

const TopicName = z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be 1-249 characters of [a-zA-Z0-9._-]');

const Topic = (name: string, partitions: number) =>
  z
    .strictObject({
      name: TopicName.default(name),
      partitions: z.number().int().min(1).max(1024).default(partitions),
    })
    .prefault({});

const Tls = z.union([
  z.boolean(),
  z.strictObject({
    /** PEM files; paths, not contents, so that the config file holds no key material. */
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    servername: z.string().min(1).optional(),
    rejectUnauthorized: z.boolean().default(true),
  }),
]);

const Sasl = z
  .strictObject({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
    username: z.string().min(1),
    /** Read the password from this file (trailing newline trimmed). */
    passwordFile: z.string().min(1).optional(),
    /** Or from this environment variable. */
    passwordEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name').default('SIGNWATCH_KAFKA_PASSWORD'),
  })
  .strict();

export const ProcessorConfig = z.strictObject({
  kafka: z
    .strictObject({
      brokers: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port')).min(1).default(['127.0.0.1:9092']),
      clientId: z.string().min(1).max(128).default('signwatch-processor'),
      tls: Tls.default(false),
      sasl: Sasl.optional(),
      connectionTimeout: DurationMs.default(3000),
      requestTimeout: DurationMs.default(30_000),
    })
    .prefault({}),
  topics: z
    .strictObject({
      /** Created at start-up when missing (with these partition counts); existing topics are left as they are. */
      create: z.boolean().default(true),
      replicationFactor: z.number().int().min(1).max(16).default(1),
      events: Topic('events.v1', 6),
      dlq: Topic('dlq.v1', 1),
      alerts: Topic('alerts.v1', 1),
      hourly: Topic('hourly.v1', 1),
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
  /** A batch with no output is committed at most this often (its offsets ride on the next transaction). */
  commitInterval: DurationMs.default(1000),
  maxEventBytes: z.number().int().min(256).max(1_048_576).default(64 * 1024),
  /**
   * Event store sink (optional): every valid live event is written to the store, idempotently by id, before the
   * batch's Kafka transaction commits. `spec`: sqlite:PATH or postgres://… (a password belongs in the environment
   * variable named by specEnv, or in PGPASSWORD, never in the file or argv).
   */
  store: z
    .strictObject({
      enabled: z.boolean().default(false),
      spec: z.string().min(1).optional(),
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

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Validate and freeze; every problem is reported with its key path. */
export function parseProcessorConfig(input: unknown, source = 'processor config'): Readonly<ProcessorConfig> {
  const r = ProcessorConfig.safeParse(input ?? {});
  if (!r.success) {
    throw new ConfigError(r.error.issues.map((i) => `${source}: ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n'));
  }
  const c = r.data;
  const names = [c.topics.events.name, c.topics.dlq.name, c.topics.alerts.name, c.topics.hourly.name];
  if (new Set(names).size !== names.length) throw new ConfigError(`${source}: topics: the events, dlq, alerts and hourly topics must be distinct`);
  return deepFreeze(c);
}

/** Read a YAML or JSON config file, apply overrides (dotted keys, already typed), validate. */
export function loadProcessorConfig(path: string | undefined, overrides: Record<string, unknown> = {}): Readonly<ProcessorConfig> {
  let doc: unknown = {};
  if (path !== undefined) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read config ${path}: ${(e as Error).message}`);
    }
    try {
      doc = parseYaml(text) ?? {};
    } catch (e) {
      throw new ConfigError(`config ${path} is not valid YAML: ${(e as Error).message}`);
    }
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config ${path}: (root): must be a mapping`);
  }
  const merged = structuredClone(doc) as Record<string, unknown>;
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const parts = key.split('.');
    let o = merged;
    for (const p of parts.slice(0, -1)) {
      if (typeof o[p] !== 'object' || o[p] === null) o[p] = {};
      o = o[p] as Record<string, unknown>;
    }
    o[parts[parts.length - 1]!] = value;
  }
  return parseProcessorConfig(merged, path ?? 'processor config');
}

/** The SASL password, from the configured file or environment variable. Never logged. */
export function resolveSaslPassword(sasl: NonNullable<ProcessorConfig['kafka']['sasl']>, env: NodeJS.ProcessEnv = process.env): string {
  if (sasl.passwordFile !== undefined) {
    try {
      return readFileSync(sasl.passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new ConfigError(`kafka.sasl.passwordFile: cannot read ${sasl.passwordFile}: ${(e as Error).message}`);
    }
  }
  const v = env[sasl.passwordEnv];
  if (v === undefined || v === '') throw new ConfigError(`kafka.sasl: no password: set kafka.sasl.passwordFile or the environment variable ${sasl.passwordEnv}`);
  return v;
}
