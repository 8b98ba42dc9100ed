/**
 * Runbooks are written by people (alerts/runbooks/<alert>.md); only the block between the markers below is
 * generated from the policy (severity, exact condition, dedup key, links), so the numbers in a runbook never drift.
 */
import type { RuleSpec } from './rule-specs.js';
import { promExpr } from './rule-specs.js';
import type { Policy } from '../../../schemas/policy.js';

export const BEGIN = '<!-- BEGIN GENERATED from alerts/policy.yaml by `signwatch alerts generate`: do not edit inside -->';
export const END = '<!-- END GENERATED -->';

const action = { critical: 'page (PagerDuty, critical)', warning: 'warning (PagerDuty warning / chat)', ticket: 'ticket (one per certificate)' } as const;

/** Labels of the engine's transitions (services/engine/rules/*): the direct path's dedup key. */
const ENGINE_LABELS: Record<string, string[]> = {
  codesign_keychain_failures: ['region'],
  unlock_latency_p95: ['region'],
  cert_expiry: ['region', 'sha1'],
  clock_skew: ['host', 'region'],
  acl_outside_window: ['host', 'region'],
  parity_drift: ['host', 'region'],
  distribution_key_on_compile_host: ['host', 'region'],
};

export function runbookBlock(policy: Readonly<Policy>, s: RuleSpec): string {
  const keyLabels = (ENGINE_LABELS[s.alert] ?? s.keyLabels).map((k) => `${k}=<${k}>`).join(',');
  const rows: [string, string][] = [
    ['Action', action[s.severity]],
    ['Fires when (Prometheus)', `\`${promExpr(s)}\``],
    ['Meaning', s.description],
    ['Dedup key (direct path)', `\`signwatch/${s.alert}/${keyLabels}\``],
    ['Dashboard', s.dashboardUrl.replace('{{ $labels.region }}', '<region>')],
  ];
  if (s.alert === 'cert_expiry') rows.push(['Ticket key', '`signwatch/cert_expiry/<sha1>`: one ticket per certificate, whatever the regions']);
  if (s.alert === 'codesign_keychain_failures') {
    rows.push(['Release gate', policy.alerts.codesign_keychain_failures.freezeReleases ? 'releases of the region are **frozen** until it resolves (`signwatch gate check --region <R>`)' : 'does not freeze releases (policy freezeReleases: false)']);
  }
  const table = ['| | |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${v.replace(/\|/g, '\\|')} |`)].join('\n');
  return `${BEGIN}\n${table}\n${END}`;
}

export function renderRunbook(existing: string | undefined, policy: Readonly<Policy>, s: RuleSpec): string {
  const block = runbookBlock(policy, s);
  if (existing === undefined) {
    // a new alert gets a skeleton; its owner writes the three sections before the alert ships
    return `# ${s.alert}\n\n${block}\n\n## What it means\n\n_(for the on-call: what broke, for whom, how urgent)_\n\n## First checks\n\n_(the queries and dashboards to open first)_\n\n## Fix\n\n_(the steps that make it resolve)_\n`;
  }
  const b = existing.indexOf(BEGIN);
  const e = existing.indexOf(END);
  if (b < 0 || e < b) {
    // no block yet: insert it after the title line
    const nl = existing.indexOf('\n');
    return nl < 0 ? `${existing}\n\n${block}\n` : `${existing.slice(0, nl + 1)}\n${block}\n${existing.slice(nl + 1)}`;
  }
  return existing.slice(0, b) + block + existing.slice(e + END.length);
}
