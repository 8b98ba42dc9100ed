/**
 * The one Kafka connection block every component takes (`kafka:` in its config file): brokers, client id, TLS,
 * SASL and timeouts. Secrets never come from argv or the file: a SASL password is read from a file
 * (`passwordFile`) or from an environment variable whose *name* is configured (`passwordEnv`, default
 * SIGNWATCH_KAFKA_PASSWORD). TLS material is given as paths, so the config holds no key material.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DurationMs } from './validation.js';
import { ConfigError } from './errors.js';

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

const Sasl = z.strictObject({
  mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
  username: z.string().min(1),
  /** Read the password from this file (trailing newline trimmed). */
  passwordFile: z.string().min(1).optional(),
  /** Or from this environment variable. */
  passwordEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name').default('SIGNWATCH_KAFKA_PASSWORD'),
});

/** The `kafka:` block, with the component's default client id. */
export const KafkaConnection = (clientId: string) =>
  z
    .strictObject({
      brokers: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port')).min(1).default(['127.0.0.1:9092']),
      clientId: z.string().min(1).max(128).default(clientId),
      tls: Tls.default(false),
      sasl: Sasl.optional(),
      connectionTimeout: DurationMs.default(3000),
      requestTimeout: DurationMs.default(30_000),
    })
    .prefault({});

export type KafkaConnectionConfig = z.output<ReturnType<typeof KafkaConnection>>;
export type SaslConfig = NonNullable<KafkaConnectionConfig['sasl']>;
export type TlsConfig = KafkaConnectionConfig['tls'];

/** The SASL password, from the configured file or environment variable. Never logged. */
export function resolveSaslPassword(sasl: SaslConfig, env: NodeJS.ProcessEnv = process.env): string {
  if (sasl.passwordFile !== undefined) {
    try {
      return readFileSync(sasl.passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new ConfigError(`kafka.sasl.passwordFile: cannot read ${sasl.passwordFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const v = env[sasl.passwordEnv];
  if (v === undefined || v === '') throw new ConfigError(`kafka.sasl: no password: set kafka.sasl.passwordFile or the environment variable ${sasl.passwordEnv}`);
  return v;
}
