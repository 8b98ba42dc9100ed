/**
 * The one Kafka connection block every component takes (`kafka:` in its config file): brokers, client id, TLS,
 * SASL and timeouts. Secrets never come from argv or the file: a SASL password is read from a file
 * (`passwordFile`) or from an environment variable whose *name* is configured (`passwordEnv`, default
 * SIGNWATCH_KAFKA_PASSWORD). TLS material is given as paths, so the config holds no key material.
 *
 * This is the zod schema (every component but the agent); kafka-connection.ts has the same block's type and the
 * agent's hand-written check, held to the same answers by a unit test. docs/secured-cluster.md shows the block.
 */
import { z } from 'zod';
import { DurationMs } from './validation.js';
import {
  BROKER_RE,
  DEFAULT_BROKERS,
  DEFAULT_CONNECTION_TIMEOUT_MS,
  DEFAULT_PASSWORD_ENV,
  DEFAULT_REQUEST_TIMEOUT_MS,
  ENV_NAME_RE,
  SASL_MECHANISMS,
  type KafkaConnectionSettings,
  type SaslMechanism,
} from './kafka-connection.js';

export { resolveSaslPassword, describeConnection } from './kafka-connection.js';

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
  mechanism: z.enum(SASL_MECHANISMS as [SaslMechanism, ...SaslMechanism[]]),
  username: z.string().min(1),
  /** Read the password from this file (trailing newline trimmed). */
  passwordFile: z.string().min(1).optional(),
  /** Or from this environment variable. */
  passwordEnv: z.string().regex(ENV_NAME_RE, 'must be an environment variable name').default(DEFAULT_PASSWORD_ENV),
});

/** The `kafka:` block, with the component's default client id. */
export const KafkaConnection = (clientId: string) =>
  z
    .strictObject({
      brokers: z.array(z.string().regex(BROKER_RE, 'must be host:port')).min(1).default([...DEFAULT_BROKERS]),
      clientId: z.string().min(1).max(128).default(clientId),
      tls: Tls.default(false),
      sasl: Sasl.optional(),
      connectionTimeout: DurationMs.default(DEFAULT_CONNECTION_TIMEOUT_MS),
      requestTimeout: DurationMs.default(DEFAULT_REQUEST_TIMEOUT_MS),
    })
    .prefault({});

export type KafkaConnectionConfig = z.output<ReturnType<typeof KafkaConnection>>;
export type SaslConfig = NonNullable<KafkaConnectionConfig['sasl']>;
export type TlsConfig = KafkaConnectionConfig['tls'];

// the zod output and the hand-written type describe the same block
const _sameBlock = (c: KafkaConnectionConfig): KafkaConnectionSettings => c;
void _sameBlock;
