/**
 * The one logger factory: structured logs (pino, JSON lines on stderr by default). Secrets are redacted wherever
 * they appear under the keys below (one list for every component), and components log with child loggers that carry
 * their correlation fields (partition, offset, correlationId, invocationId, keychain, dedupKey).
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
  'routing_key',
  '*.routing_key',
  '*.*.routing_key',
  'env',
  '*.env',
];

export interface LoggerOptions {
  name: string;
  level?: LevelWithSilent;
  /** Defaults to stderr (stdout stays free for command output). */
  destination?: DestinationStream;
  /** A file descriptor instead of `destination` (1 for launchd's StandardOutPath). */
  fd?: number;
  /** Append to this file (created with its folders, mode 0600) instead of a descriptor. */
  file?: string;
  /** Write synchronously (short-lived commands and daemons whose logs must survive a crash). */
  sync?: boolean;
  /** Fields on every line (the agent's host and region). */
  base?: Record<string, unknown>;
}

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid, ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? (opts.file !== undefined ? pino.destination({ dest: opts.file, sync: opts.sync ?? false, mkdir: true, mode: 0o600 }) : pino.destination({ fd: opts.fd ?? 2, sync: opts.sync ?? false })),
  );
}

/**
 * A child logger for one component whose own children name sub-components without repeating the key: pino writes
 * every binding of every ancestor, so `log.child({ component: 'processor' }).child({ component: 'kafka' })` would
 * print `"component"` twice. Here that line carries `"component":"processor.kafka"`, once.
 */
export function componentLogger(base: Logger, component: string, extra: Record<string, unknown> = {}): Logger {
  const log = base.child({ ...extra, component });
  const plainChild = log.child.bind(log);
  log.child = ((bindings: Record<string, unknown>, options?: Parameters<Logger['child']>[1]) => {
    if (options !== undefined) return plainChild(bindings, options);
    const { component: sub, ...rest } = bindings;
    return componentLogger(base, typeof sub === 'string' ? `${component}.${sub}` : component, { ...extra, ...rest });
  }) as Logger['child'];
  return log;
}
