/** `signwatch processor`: the live pipeline (Kafka → engine → alert / hourly / dead-letter topics, /metrics). */
import { parseCommandArgs, type CommandModule } from '../platform/cli.js';
import { CodedError, UsageError } from '../platform/errors.js';
import { ConfigError, loadProcessorConfig } from './config.js';
import { createLogger } from '../platform/logger.js';
import { loadPolicyFile } from '../engine/policy.js';
import { createProcessor } from './processor.js';
import { effectiveConfigText } from '../platform/check-config.js';
import { connectKafka } from '../platform/kafka.js';

const HELP = `Usage: signwatch processor [options]

Consume wire events from Kafka (events.v1, keyed by region), run the alert engine (the one 'signwatch replay'
runs), and write alert transitions (alerts.v1), hourly aggregates (hourly.v1) and rejected records (dlq.v1),
each batch together with its consumer offset in one Kafka transaction. Serves /metrics, /healthz and /readyz.
Run several instances with the same group id to scale out. Stops cleanly on SIGTERM / SIGINT.

Options:
  --config FILE        YAML/JSON config (see docs/processor.md); flags below override it
  --brokers LIST       comma-separated host:port (default 127.0.0.1:9092)
  --group-id ID        consumer group (default signwatch-processor)
  --clock MODE         wall (default: alerts resolve on the wall clock) | event (event time only, like replay)
  --policy FILE        alert policy YAML (default: alerts/policy.yaml of this checkout, else built-in)
  --metrics-host HOST  bind address of /metrics (default 127.0.0.1)
  --metrics-port N     port of /metrics (default 9464; 0 picks a free port)
  --log-level LEVEL    fatal|error|warn|info|debug|trace|silent (default info)
  --check-config       validate the configuration, print it (secrets redacted) and exit
  -h, --help           show this help

Secrets: a SASL password is read from kafka.sasl.passwordFile or the environment variable named by
kafka.sasl.passwordEnv (default SIGNWATCH_KAFKA_PASSWORD), never from the command line.

Without a reachable broker (or with a wrong password or an untrusted CA) it says so in one line naming the
brokers and exits 1 within kafka.connectionTimeout.

Exit status: 0 stopped by a signal, 1 runtime failure (e.g. no broker), 2 bad usage or bad configuration.
`;

/** `prefix` before each line of `text` that does not already carry it. */
export function prefixLines(prefix: string, text: string): string {
  return text.split('\n').map((l) => (l.startsWith(prefix) ? l : `${prefix}${l}`)).join('\n');
}

export const run: CommandModule['run'] = async (argv) => {
  const a = parseCommandArgs(
    'processor',
    argv,
    {
      config: { type: 'string' },
      brokers: { type: 'string' },
      'group-id': { type: 'string' },
      clock: { type: 'string' },
      policy: { type: 'string' },
      'metrics-host': { type: 'string' },
      'metrics-port': { type: 'string' },
      'log-level': { type: 'string' },
      'check-config': { type: 'boolean' },
    },
    HELP,
    false,
  );
  if (!a) return 0;
  const v = a.values;
  let port: number | undefined;
  if (v['metrics-port'] !== undefined) {
    port = Number(v['metrics-port']);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`signwatch processor: --metrics-port must be an integer in [0, 65535], got "${v['metrics-port']}"`);
  }
  if (v.clock !== undefined && v.clock !== 'wall' && v.clock !== 'event') throw new UsageError(`signwatch processor: --clock must be wall or event, got "${v.clock}"`);
  let config;
  let policy;
  try {
    config = loadProcessorConfig(v.config, {
      'kafka.brokers': v.brokers?.split(',').map((s) => s.trim()).filter(Boolean),
      groupId: v['group-id'],
      clock: v.clock,
      policy: v.policy,
      'metrics.host': v['metrics-host'],
      'metrics.port': port,
      'log.level': v['log-level'],
    });
    policy = loadPolicyFile(config.policy);
  } catch (e) {
    // every line in the one style: signwatch processor: <file:line: key>: <why>
    if (e instanceof ConfigError) throw new UsageError(prefixLines('signwatch processor: ', e.message));
    throw e;
  }
  if (v['check-config']) {
    process.stdout.write(effectiveConfigText(config));
    return 0;
  }
  const log = createLogger({ name: 'signwatch-processor', level: config.log.level });
  // no broker, a wrong password or an untrusted CA: one line and exit 1 within the connection timeout
  await connectKafka(config.kafka, log, { command: 'processor' });
  const processor = createProcessor(config, policy, log);
  let signalled: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (signalled = resolve));
  const onSignal = (sig: string) => {
    log.info({ signal: sig }, 'stopping');
    signalled();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  try {
    await processor.start();
  } catch (e) {
    log.flush();
    throw new CodedError(e instanceof CodedError ? e.code : 'SW_PROCESSOR_START', `signwatch processor: ${(e as Error).message}`, { cause: e });
  }
  await stopped;
  await processor.stop();
  log.flush();
  return 0;
};
