/**
 * Config files of `signwatch alerts notify` and `signwatch gate serve` (`--config FILE`, YAML or JSON): the same
 * `kafka:` block as every component (brokers, TLS, SASL, timeouts; docs/secured-cluster.md) and the command's own
 * keys. Flags override the file (dotted keys), defaults fill the rest; `--check-config` prints the result with
 * secrets redacted. No secret belongs in these files: the SASL password comes from kafka.sasl.passwordFile or the
 * variable named by kafka.sasl.passwordEnv, the PagerDuty routing key and the gate token from their own files or
 * environment variables.
 */
import { z } from 'zod';
import { loadConfigFile } from '../platform/config-file.js';
import { ConfigError, UsageError } from '../platform/errors.js';
import { KafkaConnection } from '../platform/kafka-config.js';
import { receiverUrlProblem } from './http-post.js';

const TopicName = z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be 1-249 characters of [a-zA-Z0-9._-]');
/** A receiver URL: https, or http on the loopback interface only (routing keys and tokens travel in it). */
const HttpUrl = z.string().superRefine((url, ctx) => {
  const why = receiverUrlProblem(url);
  if (why) ctx.addIssue({ code: 'custom', message: why });
});
const Port = z.number().int().min(0).max(65535);
const Log = z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({});

export const NotifyCommandConfig = z.strictObject({
  kafka: KafkaConnection('signwatch-notifier'),
  /** The alert topic (the processor's topics.alerts.name). */
  topic: TopicName.default('alerts.v1'),
  groupId: z.string().min(1).max(200).default('signwatch-notifier'),
  outbox: z.string().min(1).default('var/alerting/outbox.sqlite'),
  pagerdutyUrl: HttpUrl.optional(),
  ticketUrl: HttpUrl.optional(),
  policy: z.string().min(1).optional(),
  metrics: z.strictObject({ host: z.string().min(1).default('127.0.0.1'), port: Port.default(9465) }).prefault({}),
  log: Log,
});
export type NotifyCommandConfig = z.output<typeof NotifyCommandConfig>;

export const GateServeConfig = z.strictObject({
  kafka: KafkaConnection('signwatch-gate'),
  topic: TopicName.default('alerts.v1'),
  host: z.string().min(1).default('127.0.0.1'),
  port: Port.default(9480),
  policy: z.string().min(1).optional(),
  auditFile: z.string().min(1).optional(),
  /** Token book (services/platform/tokens.ts): who may override; the audit's `by` comes from it. */
  tokenBook: z.string().min(1).optional(),
  log: Log,
});
export type GateServeConfig = z.output<typeof GateServeConfig>;

/** Load a command's config file + flag overrides; a bad file or value is a usage error naming the key. */
export function loadCommandConfig<S extends z.ZodType>(schema: S, command: string, path: string | undefined, overrides: Record<string, unknown>): Readonly<z.output<S>> {
  try {
    return loadConfigFile(schema, path, `${command} config`, overrides);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`signwatch ${command}: ${e.message}`);
    throw e;
  }
}

/** `--brokers a:1,b:2` → ['a:1', 'b:2'] (undefined when the flag is absent). */
export function brokersFlag(v: string | undefined): string[] | undefined {
  return v?.split(',').map((s) => s.trim()).filter(Boolean);
}

/** `--metrics-port N` / `--port N` → N (undefined when absent); a usage error when not a port. */
export function portFlag(command: string, flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`signwatch ${command}: --${flag} must be an integer in [0, 65535], got "${v}"`);
  return n;
}
