/** `signwatch agent run`: parse options, build the sinks and the logger, run the daemon until a signal. */
import { parseCommandArgs } from '../../platform/cli.js';
import { UsageError } from '../../platform/errors.js';
import { loadConfig } from '../config.js';
import { AgentDaemon } from '../daemon.js';
import { KafkaTarget, NdjsonTarget, type ShipTarget } from '../spool/ship-targets.js';

const HELP = `Usage: signwatch agent run [--config PATH] [--sink kafka|ndjson:PATH|-]… [--once] [--timeout SEC]

The host daemon: periodic keychain scan, sntp clock probe and heartbeat; ships the spool to Kafka (topic from
the config, acks=all, idempotent producer), deleting events only once the broker acknowledged them.

Options:
  --config PATH   agent config (default: $SIGNWATCH_AGENT_CONFIG or /usr/local/etc/signwatch/agent.json)
  --sink SPEC     kafka (default), ndjson:PATH or - (stdout); repeat to ship to several
  --once          one scan, clock probe and heartbeat, ship the spool, exit (0 when the spool was emptied)
  --timeout SEC   with --once: give up shipping after SEC seconds (default 60)
  -h, --help      show this help
`;

export async function runDaemon(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseCommandArgs(
    'agent run',
    argv,
    { config: { type: 'string' }, sink: { type: 'string', multiple: true }, once: { type: 'boolean' }, timeout: { type: 'string' } },
    HELP,
    false,
  );
  if (!parsed) return 0;
  const timeoutSec = parsed.values.timeout === undefined ? 60 : Number(parsed.values.timeout);
  if (!Number.isFinite(timeoutSec) || timeoutSec <= 0) throw new UsageError(`signwatch agent run: --timeout: expected a positive number of seconds`);
  const cfg = loadConfig(parsed.values.config, env);
  const sinks: ShipTarget[] = [];
  for (const spec of parsed.values.sink ?? ['kafka']) {
    if (spec === 'kafka') sinks.push(new KafkaTarget({ brokers: cfg.kafka.brokers, topic: cfg.kafka.topic, clientId: `${cfg.kafka.clientId}-${cfg.host}` }));
    else if (spec === '-' || spec === 'ndjson:-') sinks.push(new NdjsonTarget('-'));
    else if (spec.startsWith('ndjson:') && spec.length > 7) sinks.push(new NdjsonTarget(spec.slice(7)));
    else throw new UsageError(`signwatch agent run: --sink: expected kafka, ndjson:PATH or -, got '${spec}'`);
  }
  const { createLogger } = await import('../../platform/logger.js');
  const log = createLogger({ name: 'signwatch-agent', base: { host: cfg.host, region: cfg.region }, fd: parsed.values.sink?.some((s) => s === '-' || s === 'ndjson:-') ? 2 : 1, sync: true });
  const daemon = new AgentDaemon({ cfg, sinks, log });
  if (parsed.values.once) {
    await daemon.start();
    const emptied = await daemon.drain(Date.now() + timeoutSec * 1000);
    await daemon.stop();
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
    log.info({ brokers: cfg.kafka.brokers, topic: cfg.kafka.topic, sinks: sinks.map((s) => s.name) }, 'agent started');
    void daemon.start();
  });
  return 0;
}
