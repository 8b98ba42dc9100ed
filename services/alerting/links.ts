/**
 * Links carried by every page, ticket and generated rule: the runbook of the alert and the Grafana dashboard
 * of the region. Both bases come from the policy (`links`); an alert's own `runbook` overrides the default.
 */
import { alertConfig, type Policy, type Severity } from '../engine/policy.js';
import type { Transition } from '../engine/types.js';

/** uid of the per-region Grafana dashboard that pages link to (dashboards/ must provision this uid). */
export const DASHBOARD_UID = 'signwatch-region';

export function runbookUrl(policy: Readonly<Policy>, alert: string): string {
  // `alert` may come from the alerts topic (input): only the policy's own keys, never Object.prototype's
  const own = Object.hasOwn(policy.alerts, alert) ? (policy.alerts as Record<string, { runbook?: string } | undefined>)[alert]?.runbook : undefined;
  if (own) return own;
  const base = policy.links.runbookBase.endsWith('/') ? policy.links.runbookBase : `${policy.links.runbookBase}/`;
  return `${base}${alert}.md`;
}

/** Dashboard link; `region` may be a Go template such as `{{ $labels.region }}` in generated rules. */
export function dashboardUrl(policy: Readonly<Policy>, region?: string): string {
  const base = policy.links.grafanaBase.replace(/\/+$/, '');
  const u = `${base}/d/${DASHBOARD_UID}/signwatch`;
  return region === undefined ? u : `${u}?var-region=${region}`;
}

/** The severity the policy gives a transition's alert now (it may have changed since the transition was written). */
export function alertSeverity(policy: Readonly<Policy>, t: Transition): Severity {
  const known = Object.hasOwn(policy.alerts, t.alert) && (policy.alerts as Record<string, unknown>)[t.alert] !== undefined;
  return known ? alertConfig(policy, t.alert).severity : t.severity;
}
