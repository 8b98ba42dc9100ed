/** Renders the Prometheus alerting rules and their promtool unit tests from the rule specs. */
import { formatDuration } from '../../platform/duration.js';
import type { RuleSpec } from './rule-specs.js';
import { promExpr } from './rule-specs.js';

export const RULES_FILE = 'signwatch.rules.yml';
export const RULE_GROUP = 'signwatch';

const renderTemplate = (tpl: string, labels: Record<string, string>, value: string): string =>
  tpl.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_m, k: string) => labels[k] ?? '').replace(/\{\{ \$value \}\}/g, value);

export function prometheusRules(specs: RuleSpec[]): unknown {
  return {
    groups: [
      {
        name: RULE_GROUP,
        rules: specs.map((s) => ({
          alert: s.alert,
          expr: promExpr(s),
          ...(s.forMs ? { for: formatDuration(s.forMs) } : {}),
          ...(s.keepFiringForMs ? { keep_firing_for: formatDuration(s.keepFiringForMs) } : {}),
          labels: { severity: s.severity },
          annotations: {
            summary: s.summary,
            description: s.description,
            runbook_url: s.runbookUrl,
            dashboard_url: s.dashboardUrl,
          },
        })),
      },
    ],
  };
}

export function promtoolTests(specs: RuleSpec[]): unknown {
  return {
    rule_files: [RULES_FILE],
    evaluation_interval: '1m',
    tests: specs.map((s) => ({
      name: `${s.alert}: fires only on the alerting side of ${s.op} ${s.threshold}`,
      interval: '1m',
      input_series: s.series.map((x) => ({ series: x.series, values: `${x.value}x10` })),
      alert_rule_test: [
        {
          eval_time: '5m',
          alertname: s.alert,
          exp_alerts: s.fire.map((f) => ({
            exp_labels: { ...f.labels, severity: s.severity },
            exp_annotations: {
              summary: f.summary,
              description: s.description,
              runbook_url: s.runbookUrl,
              dashboard_url: renderTemplate(s.dashboardUrl, f.labels, ''),
            },
          })),
        },
      ],
    })),
  };
}
