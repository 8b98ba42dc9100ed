/**
 * Structured logs (pino, JSON lines on stderr by default). Secrets are redacted wherever they appear under the
 * usual keys, and components log with child loggers that carry their correlation fields (partition, offset,
 * correlationId, invocationId, keychain, dedupKey).
 */
import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'sasl.password',
  'kafka.sasl.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'routingKey',
  '*.routingKey',
];

export interface LoggerOptions {
  name: string;
  level?: LevelWithSilent;
  /** Defaults to stderr (stdout stays free for command output). */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
