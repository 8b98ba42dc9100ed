/**
 * Renders the Alertmanager configuration: critical → PagerDuty (Events API v2), warning → chat webhook,
 * ticket → ticket webhook; a critical alert inhibits the warnings of the same region.
 * Secrets are never written into the file: the PagerDuty routing key is read from `routing_key_file`.
 * Note: Alertmanager's PagerDuty dedup_key is a hash of its alert group (not signwatch/<alert>/<labels>); grouping
 * by [alertname, region] (and sha1 for tickets) makes that one incident per signwatch alert instance.
 */
import type { RuleSpec } from './rule-specs.js';

export interface AlertmanagerOptions {
  pagerdutyUrl: string;
  routingKeyFile: string;
  chatWebhookUrl: string;
  ticketWebhookUrl: string;
  groupWait: string;
  groupInterval: string;
  repeatInterval: string;
}

export const DEFAULT_ALERTMANAGER_OPTIONS: Readonly<AlertmanagerOptions> = Object.freeze({
  pagerdutyUrl: 'https://events.pagerduty.com/v2/enqueue',
  routingKeyFile: '/etc/signwatch/secrets/pagerduty-routing-key',
  chatWebhookUrl: 'http://127.0.0.1:9481/chat',
  ticketWebhookUrl: 'http://127.0.0.1:9481/ticket',
  // Alertmanager's own defaults, written out so the benchmark and the docs can quote them
  groupWait: '30s',
  groupInterval: '5m',
  repeatInterval: '4h',
});

export function alertmanagerConfig(specs: RuleSpec[], opts: Partial<AlertmanagerOptions> = {}): unknown {
  const o = { ...DEFAULT_ALERTMANAGER_OPTIONS, ...opts };
  const severities = new Set(specs.map((s) => s.severity));
  return {
    global: { pagerduty_url: o.pagerdutyUrl, resolve_timeout: '5m' },
    route: {
      receiver: 'signwatch-chat',
      group_by: ['alertname', 'region'],
      group_wait: o.groupWait,
      group_interval: o.groupInterval,
      repeat_interval: o.repeatInterval,
      routes: [
        { receiver: 'signwatch-pagerduty', matchers: ['severity="critical"'] },
        { receiver: 'signwatch-chat', matchers: ['severity="warning"'] },
        { receiver: 'signwatch-ticket', matchers: ['severity="ticket"'], group_by: ['alertname', 'sha1'] },
      ].filter((r) => severities.has(/"(\w+)"/.exec(r.matchers[0]!)![1] as RuleSpec['severity'])),
    },
    inhibit_rules: [
      { source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['region'] },
    ],
    receivers: [
      {
        name: 'signwatch-pagerduty',
        pagerduty_configs: [
          {
            routing_key_file: o.routingKeyFile,
            severity: '{{ .CommonLabels.severity }}',
            class: '{{ .CommonLabels.alertname }}',
            component: 'signwatch',
            group: '{{ .CommonLabels.region }}',
            description: '{{ .CommonAnnotations.summary }}',
            details: {
              alert: '{{ .CommonLabels.alertname }}',
              region: '{{ .CommonLabels.region }}',
              firing: '{{ .Alerts.Firing | len }}',
              runbook: '{{ .CommonAnnotations.runbook_url }}',
            },
            links: [
              { href: '{{ .CommonAnnotations.runbook_url }}', text: 'Runbook' },
              { href: '{{ .CommonAnnotations.dashboard_url }}', text: 'Grafana dashboard' },
            ],
            send_resolved: true,
          },
        ],
      },
      { name: 'signwatch-chat', webhook_configs: [{ url: o.chatWebhookUrl, send_resolved: true }] },
      { name: 'signwatch-ticket', webhook_configs: [{ url: o.ticketWebhookUrl, send_resolved: true }] },
    ],
  };
}
