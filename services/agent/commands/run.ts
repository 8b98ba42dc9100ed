/** `signwatch agent run`: parse options, build the sinks and the logger, run the daemon until a signal. */
import { parseCommandArgs } from '../../platform/cli.js';
import { ConfigError, UsageError } from '../../platform/errors.js';
import { effectiveConfigText } from '../../platform/check-config.js';
import { BROKER_RE, describeConnection } from '../../platform/kafka-connection.js';
import { loadConfig } from '../config.js';
import { ensurePrivateDir } from '../../platform/files.js';
import { AgentDaemon } from '../daemon.js';
import type { Logger } from '../../platform/logger.js';
import { KafkaTarget, NdjsonTarget, type ShipTarget } from '../spool/ship-targets.js';

const HELP = `Usage: signwatch agent run [--config PATH] [--brokers LIST] [--sink kafka|ndjson:PATH|-]… [--once] [--timeout SEC]
       signwatch agent run --check-config [--config PATH]

The host daemon: periodic keychain scan, sntp clock probe and heartbeat; ships the spool to Kafka (topic from
the config, acks=all, idempotent producer), deleting events only once the broker acknowledged them.
The config's kafka block is the one every component takes (TLS, SASL: docs/secured-cluster.md); the SASL
password comes from kafka.sasl.passwordFile or the variable named by kafka.sasl.passwordEnv, never from argv.

Options:
  --config PATH   agent config (default: $SIGNWATCH_AGENT_CONFIG or /usr/local/etc/signwatch/agent.json)
  --brokers LIST  comma-separated host:port (overrides kafka.brokers)
  --check-config  validate the configuration, print it (secrets redacted) and exit
  --sink SPEC     kafka (default), ndjson:PATH or - (stdout); repeat to ship to several
  --once          one scan, clock probe and heartbeat, ship the spool, exit (0 when the spool was emptied)
  --timeout SEC   with --once: give up shipping after SEC seconds (default 60)
  -h, --help      show this help
`;

export async function runDaemon(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseCommandArgs(
    'agent run',
    argv,
    {
      config: { type: 'string' },
      brokers: { type: 'string' },
      'check-config': { type: 'boolean' },
      sink: { type: 'string', multiple: true },
      once: { type: 'boolean' },
      timeout: { type: 'string' },
    },
    HELP,
    false,
  );
  if (!parsed) return 0;
  const timeoutSec = parsed.values.timeout === undefined ? 60 : Number(parsed.values.timeout);
  if (!Number.isFinite(timeoutSec) || timeoutSec <= 0) throw new UsageError(`signwatch agent run: --timeout: expected a positive number of seconds`);
  let cfg = loadConfig(parsed.values.config, env);
  if (parsed.values.brokers !== undefined) {
    const brokers = parsed.values.brokers.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = brokers.find((b) => !BROKER_RE.test(b));
    if (brokers.length === 0 || bad !== undefined) throw new UsageError(`signwatch agent run: --brokers: expected host:port[,host:port…]${bad ? `, got '${bad}'` : ''}`);
    cfg = Object.freeze({ ...cfg, kafka: Object.freeze({ ...cfg.kafka, brokers: Object.freeze(brokers) }) });
  }
  if (parsed.values['check-config']) {
    process.stdout.write(effectiveConfigText(cfg, env));
    return 0;
  }
  // the spool, state and logs live there: a group/world-writable or foreign dataDir is refused, naming it
  try {
    ensurePrivateDir(cfg.dataDir);
  } catch (e) {
    throw new ConfigError(`signwatch agent run: dataDir ${(e as Error).message}`, { code: 'SW_FILE_UNSAFE' });
  }
  const toStdout = parsed.values.sink?.some((s) => s === '-' || s === 'ndjson:-') ?? false;
  const { createLogger } = await import('../../platform/logger.js');
  const log = createLogger({ name: 'signwatch-agent', base: { host: cfg.host, region: cfg.region }, fd: toStdout ? 2 : 1, sync: true });
  const sinks: ShipTarget[] = [];
  for (const spec of parsed.values.sink ?? ['kafka']) {
    if (spec === 'kafka') sinks.push(new KafkaTarget({ kafka: cfg.kafka, topic: cfg.kafka.topic, clientIdSuffix: `-${cfg.host}`, log }));
    else if (spec === '-' || spec === 'ndjson:-') sinks.push(new NdjsonTarget('-'));
    else if (spec.startsWith('ndjson:') && spec.length > 7) sinks.push(new NdjsonTarget(spec.slice(7)));
    else throw new UsageError(`signwatch agent run: --sink: expected kafka, ndjson:PATH or -, got '${spec}'`);
  }
  const daemon = new AgentDaemon({ cfg, sinks, log });
  // the OpenTelemetry SDK (OTEL_* environment; exports only with an OTLP endpoint): the ship spans of the events
  const { startTracing } = await import('../../platform/telemetry.js');
  const releaseTracing = startTracing({ serviceName: 'signwatch-agent', region: cfg.region, host: cfg.host });
  try {
    return await runDaemonLoop(daemon, log, parsed.values.once === true, timeoutSec, () => log.info({ kafka: describeConnection(cfg.kafka), topic: cfg.kafka.topic, sinks: sinks.map((s) => s.name) }, 'agent started'));
  } finally {
    await releaseTracing();
  }
}

async function runDaemonLoop(daemon: AgentDaemon, log: Logger, once: boolean, timeoutSec: number, started: () => void): Promise<number> {
  if (once) {
    await daemon.start();
    const emptied = await daemon.drain(Date.now() + timeoutSec * 1000);
    // not emptied: the broker is unreachable or refusing; what is unsent stays in the spool, so do not wait long
    await daemon.stop(emptied ? 5000 : 1000);
    log.info({ shipped: daemon.shipper.stats.shipped, emptied }, 'once: done');
    return emptied ? 0 : 1;
  }
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      log.info({ signal: sig }, 'stopping');
      void daemon.stop().then(resolve);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    started();
    void daemon.start();
  });
  return 0;
}
