/**
 * `signwatch console`: the web page a release engineer on call keeps open (services/console/server.ts), its state
 * rebuilt from the alert topic on every start and kept live from it (services/alerting/alert-topic.ts).
 */
import { parseCommandArgs, type CommandModule } from '../platform/cli.js';
import { CodedError, UsageError } from '../platform/errors.js';
import { createLogger, type LoggerOptions } from '../platform/logger.js';
import { createTelemetry } from '../platform/telemetry.js';
import { connectKafka } from '../platform/kafka.js';
import { parseKafkaConnection, describeConnection } from '../platform/kafka-connection.js';
import { loadTokenBook, type TokenBook } from '../platform/tokens.js';
import { DEFAULT_POLICY_PATH, loadPolicy } from '../engine/policy.js';
import { alertTopicReader } from '../alerting/alert-topic.js';
import { brokersFlag } from '../alerting/command-config.js';
import { ConsoleState } from './state.js';
import { startConsole } from './server.js';
import { consolePagesFlags, CONSOLE_PAGES_HELP, CONSOLE_PAGES_OPTIONS } from './routes/flags.js';

const HELP = `Usage: signwatch console [--listen 127.0.0.1:8788] [--brokers 127.0.0.1:9092] [--topic alerts.v1]
                         [--policy FILE] [--token-book FILE] [--log-level LEVEL]
                         [--store SPEC] [--grafana-url URL] [--faro-forward URL]

The release engineer's web console: the Fleet page (five region tiles saying OPEN or FROZEN, the firing alerts
with their hosts, keychains, error codes and correlation ids), live over server-sent events; its state is rebuilt
from the alert topic on every start. Faro payloads (Grafana Faro Web SDK) are accepted on POST /collect and
counted into /metrics (signwatch_console_*).

  --listen HOST:PORT   default 127.0.0.1:8788 (port 0 picks a free port; the URL is printed on stderr)
  --token-book FILE    per-person tokens (signwatch tokens add): log in with yours (Authorization: Bearer, or the
                       login form, which sets an HttpOnly SameSite=Strict cookie). Required when HOST is not
                       loopback; without it the console answers everyone on loopback as "local".
  --brokers LIST       Kafka brokers (default 127.0.0.1:9092); --topic the alert topic (default alerts.v1)
  --policy FILE        the alert policy (which alerts freeze releases); default ${DEFAULT_POLICY_PATH}
${CONSOLE_PAGES_HELP}Stops on SIGINT/SIGTERM. Exit status: 0 after a clean stop, 1 Kafka, the store or the port unavailable, 2 bad usage.
`;

const OPTIONS = {
  listen: { type: 'string' },
  brokers: { type: 'string' },
  topic: { type: 'string' },
  policy: { type: 'string' },
  'token-book': { type: 'string' },
  'log-level': { type: 'string' },
  ...CONSOLE_PAGES_OPTIONS,
} as const;

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export function parseListen(v: string | undefined): { host: string; port: number } {
  const listen = v ?? '127.0.0.1:8788';
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UsageError(`signwatch console: --listen: "${listen}" must be HOST:PORT (e.g. 127.0.0.1:8788)`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs('console', argv, OPTIONS, HELP, false);
  if (!parsed) return 0;
  const v = parsed.values;
  const { host, port } = parseListen(v.listen);
  const level = v['log-level'] ?? 'info';
  if (!LEVELS.has(level)) throw new UsageError(`signwatch console: --log-level: '${level}' is not one of ${[...LEVELS].join(', ')}`);
  const topic = v.topic ?? 'alerts.v1';
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(topic)) throw new UsageError(`signwatch console: --topic: '${topic}' must be 1-249 characters of [a-zA-Z0-9._-]`);
  let tokenBook: TokenBook | undefined;
  try {
    tokenBook = v['token-book'] === undefined ? undefined : loadTokenBook(v['token-book']);
  } catch (e) {
    throw new UsageError(`signwatch console: --token-book: ${(e as Error).message}`);
  }
  const policy = loadPolicy(v.policy ?? DEFAULT_POLICY_PATH);
  const logger = createLogger({ name: 'signwatch-console', level: level as LoggerOptions['level'] });
  const kafka = parseKafkaConnection({ brokers: brokersFlag(v.brokers) ?? ['127.0.0.1:9092'] }, 'signwatch-console');
  const state = new ConsoleState(policy);
  const pages = await consolePagesFlags(v, policy.links.grafanaBase);
  const telemetry = createTelemetry({ serviceName: 'signwatch-console', host: '127.0.0.1', port: 0, serve: false });
  // the OpenTelemetry SDK (OTEL_* environment; exports only with an OTLP endpoint): HTTP server spans; no server of
  // its own (serve: false), /metrics is the console's route; telemetry.stop() below releases it
  await telemetry.start();
  // refuse a public address without a token book before touching Kafka
  let server;
  try {
    server = await startConsole({ state, telemetry, logger, host, port, ...(tokenBook ? { tokenBook } : {}), ...pages.options });
  } catch (e) {
    await pages.close();
    throw e;
  }
  try {
    await connectKafka(kafka, logger, { command: 'console' });
    const reader = alertTopicReader({ kafka, topic, logger, onTransition: (t) => state.apply(t), onInvalid: (reason) => logger.warn({ reason }, 'alert topic: skipped a message') });
    try {
      await reader.start();
    } catch (e) {
      await reader.stop().catch(() => undefined);
      throw new CodedError('SW_KAFKA_TOPICS', `signwatch console: --topic: cannot read the alert topic ${topic}: ${(e as Error).message}`, { cause: e });
    }
    process.stderr.write(`signwatch console: ${server.url}/\n`);
    logger.info({ url: server.url, kafka: describeConnection(kafka), topic, tokenBook: tokenBook?.path ?? null }, 'console serving');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await reader.stop();
  } finally {
    await server.stop();
    await pages.close();
    await telemetry.stop();
  }
  return 0;
}

const mod: CommandModule = { run };
export default mod;
