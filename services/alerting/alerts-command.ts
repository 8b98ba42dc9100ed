/**
 * `signwatch alerts generate|check`: regenerate the Prometheus rules, promtool tests, Alertmanager config,
 * Grafana provisioning and runbook blocks from the policy, or check that the committed files have not drifted.
 */
import { parseCommandArgs, type CommandModule } from '../platform/cli.js';
import { UsageError } from '../platform/errors.js';
import { DEFAULT_POLICY_PATH, loadPolicy } from '../engine/policy.js';
import { ALERTS_DIR, checkDrift, writeFiles } from './generate/index.js';
import { readFileSync } from 'node:fs';
import { createNotifier, alertingLogger } from './notifier.js';
import { PagerDutyChannel, TicketWebhookChannel, PAGERDUTY_EVENTS_URL, type Channel, type ChannelName } from './channels.js';
import { alertTopicNotifier } from './alert-topic-notifier.js';
import { createTelemetry } from '../platform/telemetry.js';

const HELP = `Usage: signwatch alerts <generate|check> [--policy FILE] [--out DIR]
       signwatch alerts notify [--brokers 127.0.0.1:9092] [--topic alerts.v1] [--group signwatch-notifier]
                               [--outbox var/alerting/outbox.sqlite] [--pagerduty-url URL] [--ticket-url URL]
                               [--routing-key-file FILE] [--policy FILE]
                               [--metrics-host 127.0.0.1] [--metrics-port 9465]

  generate   write alerts/prometheus, alerts/alertmanager, alerts/grafana and the generated block of
             alerts/runbooks/*.md from the policy
  check      exit 1 when a generated file differs from what the policy generates (drift)
  notify     the direct path: alert topic → durable outbox → PagerDuty (critical, warning) and the ticket
             webhook (cert_expiry). The routing key comes from SIGNWATCH_PD_ROUTING_KEY or --routing-key-file,
             the ticket token from SIGNWATCH_TICKET_TOKEN; never from the command line.

Options:
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
}): Promise<number> {
  const port = v['metrics-port'] === undefined ? 9465 : Number(v['metrics-port']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`signwatch alerts notify: --metrics-port must be an integer in [0, 65535], got "${v['metrics-port']}"`);
  let key = process.env.SIGNWATCH_PD_ROUTING_KEY;
  if (v['routing-key-file'] !== undefined) {
    try {
      key = readFileSync(v['routing-key-file'], 'utf8').trim();
    } catch (e) {
      throw new UsageError(`signwatch alerts notify: --routing-key-file: ${(e as Error).message}`);
    }
  }
  if (!key) throw new UsageError('signwatch alerts notify: no PagerDuty routing key (set SIGNWATCH_PD_ROUTING_KEY or --routing-key-file)');
  for (const flag of ['pagerduty-url', 'ticket-url'] as const) {
    const u = v[flag];
    if (u !== undefined && !/^https?:\/\//.test(u)) throw new UsageError(`signwatch alerts notify: --${flag}: '${u}' is not an http(s) URL`);
  }
  const policy = loadPolicy(v.policy ?? DEFAULT_POLICY_PATH);
  const logger = alertingLogger();
  const telemetry = createTelemetry({ serviceName: 'signwatch-notifier', host: v['metrics-host'] ?? '127.0.0.1', port, serve: true });
  const channels: Partial<Record<ChannelName, Channel>> = { pagerduty: new PagerDutyChannel(key, v['pagerduty-url'] ?? PAGERDUTY_EVENTS_URL) };
  if (v['ticket-url']) channels.ticket = new TicketWebhookChannel(v['ticket-url'], process.env.SIGNWATCH_TICKET_TOKEN || undefined);
  const notifier = createNotifier(
    { outboxPath: v.outbox ?? 'var/alerting/outbox.sqlite', routes: v['ticket-url'] ? {} : { ticket: [] } },
    { policy, channels, logger, meter: telemetry.meter },
  );
  const bridge = alertTopicNotifier({ brokers: (v.brokers ?? '127.0.0.1:9092').split(','), topic: v.topic ?? 'alerts.v1', groupId: v.group, notifier, logger });
  const boundPort = await telemetry.start();
  await bridge.start();
  telemetry.setReady(true);
  logger.info({ topic: v.topic ?? 'alerts.v1', metrics: `http://${v['metrics-host'] ?? '127.0.0.1'}:${boundPort}/metrics` }, 'notifier running');
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
