/**
 * `signwatch alerts generate|check`: regenerate the Prometheus rules, promtool tests, Alertmanager config,
 * Grafana provisioning and runbook blocks from the policy, or check that the committed files have not drifted.
 */
import { parseCommandArgs, type CommandModule } from '../platform/cli.js';
import { UsageError } from '../platform/errors.js';
import { DEFAULT_POLICY_PATH, loadPolicy } from '../engine/policy.js';
import { ALERTS_DIR, checkDrift, writeFiles } from './generate/index.js';
import { readFileSync } from 'node:fs';
import { createNotifier } from './notifier.js';
import { createLogger } from '../platform/logger.js';
import { effectiveConfigText } from '../platform/check-config.js';
import { connectKafka } from '../platform/kafka.js';
import { describeConnection } from '../platform/kafka-connection.js';
import { brokersFlag, loadCommandConfig, NotifyCommandConfig, portFlag } from './command-config.js';
import { PagerDutyChannel, TicketWebhookChannel, PAGERDUTY_EVENTS_URL, type Channel, type ChannelName } from './channels.js';
import { alertTopicNotifier } from './alert-topic-notifier.js';
import { createTelemetry } from '../platform/telemetry.js';

const HELP = `Usage: signwatch alerts <generate|check> [--policy FILE] [--out DIR]
       signwatch alerts notify [--config FILE] [--brokers 127.0.0.1:9092] [--topic alerts.v1]
                               [--group signwatch-notifier] [--outbox var/alerting/outbox.sqlite]
                               [--pagerduty-url URL] [--ticket-url URL] [--routing-key-file FILE] [--policy FILE]
                               [--metrics-host 127.0.0.1] [--metrics-port 9465] [--log-level LEVEL] [--check-config]

  generate   write alerts/prometheus, alerts/alertmanager, alerts/grafana and the generated block of
             alerts/runbooks/*.md from the policy
  check      exit 1 when a generated file differs from what the policy generates (drift)
  notify     the direct path: alert topic → durable outbox → PagerDuty (critical, warning) and the ticket
             webhook (cert_expiry). The routing key comes from SIGNWATCH_PD_ROUTING_KEY or --routing-key-file,
             the ticket token from SIGNWATCH_TICKET_TOKEN; never from the command line.

Options:
  --config FILE   notify: YAML/JSON config: the kafka block every component takes (brokers, tls, sasl,
                  timeouts: docs/secured-cluster.md) and topic, groupId, outbox, pagerdutyUrl, ticketUrl,
                  policy, metrics.host/port, log.level; the flags override it
  --brokers LIST  notify: comma-separated host:port (overrides kafka.brokers)
  --check-config  notify: validate the configuration, print it (secrets redacted) and exit
  --policy FILE   policy file (default: ${DEFAULT_POLICY_PATH})
  --out DIR       alerts directory (default: ${ALERTS_DIR})
  --metrics-host HOST, --metrics-port N
                  notify: where /metrics (signwatch_notifications_total{channel,outcome},
                  signwatch_notification_retries_total{channel}), /healthz and /readyz are served
                  (default 127.0.0.1:9465; port 0 picks a free one)
  -h, --help      this help
`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(
    'alerts',
    argv,
    {
      policy: { type: 'string' },
      out: { type: 'string' },
      brokers: { type: 'string' },
      topic: { type: 'string' },
      group: { type: 'string' },
      outbox: { type: 'string' },
      'pagerduty-url': { type: 'string' },
      'ticket-url': { type: 'string' },
      'routing-key-file': { type: 'string' },
      'metrics-host': { type: 'string' },
      'metrics-port': { type: 'string' },
      config: { type: 'string' },
      'log-level': { type: 'string' },
      'check-config': { type: 'boolean' },
    },
    HELP,
    true,
    ['generate', 'check', 'notify'],
  );
  if (!args) return 0;
  const [sub, ...extra] = args.positionals;
  if (sub === 'notify') return notify(args.values);
  if (sub !== 'generate' && sub !== 'check') {
    throw new UsageError(`signwatch alerts: expected a subcommand 'generate', 'check' or 'notify'${sub ? `, got '${sub}'` : ''}\nTry 'signwatch alerts --help'.`);
  }
  if (extra.length > 0) throw new UsageError(`signwatch alerts ${sub}: unexpected argument '${extra[0]}'`);
  const policy = loadPolicy(args.values.policy ?? DEFAULT_POLICY_PATH);
  const dir = args.values.out ?? ALERTS_DIR;
  await Promise.resolve();
  if (sub === 'generate') {
    const changed = writeFiles(policy, dir);
    process.stdout.write(changed.length ? `updated:\n${changed.map((f) => `  ${f}\n`).join('')}` : 'up to date\n');
    return 0;
  }
  const drift = checkDrift(policy, dir);
  for (const d of drift) {
    process.stderr.write(
      d.reason === 'missing'
        ? `drift: ${d.file}: missing (run 'signwatch alerts generate')\n`
        : `drift: ${d.file}:${d.line}: expected ${JSON.stringify(d.expected)}, found ${JSON.stringify(d.actual)}\n`,
    );
  }
  if (drift.length === 0) process.stdout.write('no drift: generated alert files match the policy\n');
  return drift.length === 0 ? 0 : 1;
}

async function notify(v: {
  config?: string;
  policy?: string;
  brokers?: string;
  topic?: string;
  group?: string;
  outbox?: string;
  'pagerduty-url'?: string;
  'ticket-url'?: string;
  'routing-key-file'?: string;
  'metrics-host'?: string;
  'metrics-port'?: string;
  'log-level'?: string;
  'check-config'?: boolean;
}): Promise<number> {
  const cfg = loadCommandConfig(NotifyCommandConfig, 'alerts notify', v.config, {
    'kafka.brokers': brokersFlag(v.brokers),
    topic: v.topic,
    groupId: v.group,
    outbox: v.outbox,
    pagerdutyUrl: v['pagerduty-url'],
    ticketUrl: v['ticket-url'],
    policy: v.policy,
    'metrics.host': v['metrics-host'],
    'metrics.port': portFlag('alerts notify', 'metrics-port', v['metrics-port']),
    'log.level': v['log-level'],
  });
  if (v['check-config']) {
    process.stdout.write(effectiveConfigText(cfg));
    return 0;
  }
  let key = process.env.SIGNWATCH_PD_ROUTING_KEY;
  if (v['routing-key-file'] !== undefined) {
    try {
      key = readFileSync(v['routing-key-file'], 'utf8').trim();
    } catch (e) {
      throw new UsageError(`signwatch alerts notify: --routing-key-file: ${(e as Error).message}`);
    }
  }
  if (!key) throw new UsageError('signwatch alerts notify: no PagerDuty routing key (set SIGNWATCH_PD_ROUTING_KEY or --routing-key-file)');
  const policy = loadPolicy(cfg.policy ?? DEFAULT_POLICY_PATH);
  const logger = createLogger({ name: 'signwatch-alerting', level: cfg.log.level });
  // no broker, a wrong password or an untrusted CA: one line and exit 1 within the connection timeout
  await connectKafka(cfg.kafka, logger, { command: 'alerts notify' });
  const telemetry = createTelemetry({ serviceName: 'signwatch-notifier', host: cfg.metrics.host, port: cfg.metrics.port, serve: true });
  const channels: Partial<Record<ChannelName, Channel>> = { pagerduty: new PagerDutyChannel(key, cfg.pagerdutyUrl ?? PAGERDUTY_EVENTS_URL) };
  if (cfg.ticketUrl) channels.ticket = new TicketWebhookChannel(cfg.ticketUrl, process.env.SIGNWATCH_TICKET_TOKEN || undefined);
  const notifier = createNotifier({ outboxPath: cfg.outbox, routes: cfg.ticketUrl ? {} : { ticket: [] } }, { policy, channels, logger, meter: telemetry.meter });
  const bridge = alertTopicNotifier({ kafka: cfg.kafka, topic: cfg.topic, groupId: cfg.groupId, notifier, logger });
  const boundPort = await telemetry.start();
  await bridge.start();
  telemetry.setReady(true);
  logger.info({ kafka: describeConnection(cfg.kafka), topic: cfg.topic, metrics: `http://${cfg.metrics.host}:${boundPort}/metrics` }, 'notifier running');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await bridge.stop();
  await telemetry.stop();
  return 0;
}

const mod: CommandModule = { run };
export default mod;
