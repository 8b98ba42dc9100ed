/**
 * Renders Grafana-managed alert rules and contact points as file-provisioning YAML
 * (field names of grafana/pkg/services/provisioning/alerting: AlertRuleGroupV1, AlertRuleV1, QueryV1;
 * PagerDuty settings of grafana/alerting receivers/pagerduty). Values like $SIGNWATCH_PD_ROUTING_KEY are
 * interpolated by Grafana from its environment, so no secret is written in the file.
 * Each rule: A = the PromQL value (instant) → B = reduce(last) → C = threshold (the policy's) → condition C.
 */
import { formatDuration } from '../../platform/duration.js';
import type { RuleSpec } from './rule-specs.js';

export const GRAFANA_FOLDER = 'signwatch';
export const PROMETHEUS_DS_UID = 'prometheus';

export interface GrafanaOptions {
  pagerdutyUrl: string;
  chatWebhookUrl: string;
  ticketWebhookUrl: string;
}

export const DEFAULT_GRAFANA_OPTIONS: Readonly<GrafanaOptions> = Object.freeze({
  pagerdutyUrl: 'https://events.pagerduty.com/v2/enqueue',
  chatWebhookUrl: 'http://127.0.0.1:9481/chat',
  ticketWebhookUrl: 'http://127.0.0.1:9481/ticket',
});

const receiverFor = { critical: 'signwatch-pagerduty', warning: 'signwatch-chat', ticket: 'signwatch-ticket' } as const;

export function grafanaRules(specs: RuleSpec[]): unknown {
  return {
    apiVersion: 1,
    groups: [
      {
        orgId: 1,
        name: 'signwatch',
        folder: GRAFANA_FOLDER,
        interval: '1m',
        rules: specs.map((s) => ({
          uid: `signwatch-${s.alert.replace(/_/g, '-')}`.slice(0, 40),
          title: s.alert,
          condition: 'C',
          data: [
            {
              refId: 'A',
              relativeTimeRange: { from: 600, to: 0 },
              datasourceUid: PROMETHEUS_DS_UID,
              model: { refId: 'A', expr: s.base, instant: true, legendFormat: s.keyLabels.map((k) => `{{${k}}}`).join(' ') },
            },
            { refId: 'B', datasourceUid: '__expr__', model: { refId: 'B', type: 'reduce', expression: 'A', reducer: 'last' } },
            {
              refId: 'C',
              datasourceUid: '__expr__',
              model: {
                refId: 'C',
                type: 'threshold',
                expression: 'B',
                conditions: [{ evaluator: { type: s.op === '>' ? 'gt' : 'lt', params: [s.threshold] } }],
              },
            },
          ],
          noDataState: 'OK',
          execErrState: 'Error',
          for: s.forMs ? formatDuration(s.forMs) : '0s',
          ...(s.keepFiringForMs ? { keep_firing_for: formatDuration(s.keepFiringForMs) } : {}),
          labels: { severity: s.severity },
          annotations: {
            summary: s.summary.replace(/\{\{ \$value \}\}/g, '{{ $values.B }}'),
            description: s.description,
            runbook_url: s.runbookUrl,
            dashboard_url: s.dashboardUrl,
          },
          isPaused: false,
          notification_settings: { receiver: receiverFor[s.severity] },
        })),
      },
    ],
  };
}

export function grafanaContactPoints(opts: Partial<GrafanaOptions> = {}): unknown {
  const o = { ...DEFAULT_GRAFANA_OPTIONS, ...opts };
  return {
    apiVersion: 1,
    contactPoints: [
      {
        orgId: 1,
        name: 'signwatch-pagerduty',
        receivers: [
          {
            uid: 'signwatch-pd',
            type: 'pagerduty',
            settings: {
              integrationKey: '$SIGNWATCH_PD_ROUTING_KEY',
              url: o.pagerdutyUrl,
              severity: '{{ .CommonLabels.severity }}',
              class: '{{ .CommonLabels.alertname }}',
              component: 'signwatch',
              group: '{{ .CommonLabels.region }}',
              summary: '{{ .CommonAnnotations.summary }}',
            },
            disableResolveMessage: false,
          },
        ],
      },
      {
        orgId: 1,
        name: 'signwatch-chat',
        receivers: [{ uid: 'signwatch-chat', type: 'webhook', settings: { url: o.chatWebhookUrl, httpMethod: 'POST' }, disableResolveMessage: false }],
      },
      {
        orgId: 1,
        name: 'signwatch-ticket',
        receivers: [{ uid: 'signwatch-ticket', type: 'webhook', settings: { url: o.ticketWebhookUrl, httpMethod: 'POST' }, disableResolveMessage: false }],
      },
    ],
    policies: [
      {
        orgId: 1,
        receiver: 'signwatch-chat',
        group_by: ['grafana_folder', 'alertname', 'region'],
        routes: [
          { receiver: 'signwatch-pagerduty', object_matchers: [['severity', '=', 'critical']] },
          { receiver: 'signwatch-chat', object_matchers: [['severity', '=', 'warning']] },
          { receiver: 'signwatch-ticket', object_matchers: [['severity', '=', 'ticket']], group_by: ['alertname', 'sha1'] },
        ],
      },
    ],
  };
}
