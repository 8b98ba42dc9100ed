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

/**
 * promtool tests of every rule: each series held on its side of the threshold, checked where the rule must fire
 * (after its `for`), where it must still be pending (just before its `for` ends) and, for a rule with
 * `keep_firing_for`, that it keeps firing that long after its series went stale and then stops.
 */
export function promtoolTests(specs: RuleSpec[]): unknown {
  const minutes = (ms: number | undefined) => Math.ceil((ms ?? 0) / 60_000);
  return {
    rule_files: [RULES_FILE],
    evaluation_interval: '1m',
    tests: specs.map((s) => {
      const forMin = minutes(s.forMs);
      const keepMin = minutes(s.keepFiringForMs);
      const firesAt = Math.max(5, forMin + 2);
      const firing = s.fire.map((f) => ({
        exp_labels: { ...f.labels, severity: s.severity },
        exp_annotations: {
          summary: f.summary,
          description: s.description,
          runbook_url: s.runbookUrl,
          dashboard_url: renderTemplate(s.dashboardUrl, f.labels, ''),
        },
      }));
      const checks: { eval_time: string; alertname: string; exp_alerts: unknown[] }[] = [{ eval_time: `${firesAt}m`, alertname: s.alert, exp_alerts: firing }];
      if (forMin > 0) checks.unshift({ eval_time: `${forMin - 1}m`, alertname: s.alert, exp_alerts: [] });
      if (keepMin > 0) {
        checks.push({ eval_time: `${firesAt + keepMin}m`, alertname: s.alert, exp_alerts: firing });
        checks.push({ eval_time: `${firesAt + keepMin + 2}m`, alertname: s.alert, exp_alerts: [] });
      }
      // with keep_firing_for every series goes stale right after the firing check (the condition is gone)
      const values = (v: string | number) => (keepMin > 0 ? `${v}x${firesAt} ${Array<string>(keepMin + 5).fill('stale').join(' ')}` : `${v}x${firesAt + 5}`);
      return {
        name: `${s.alert}: fires only on the alerting side of ${s.op} ${s.threshold}`,
        interval: '1m',
        input_series: s.series.map((x) => ({ series: x.series, values: values(x.value) })),
        alert_rule_test: checks,
      };
    }),
  };
}
