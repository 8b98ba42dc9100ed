/**
 * Runbooks: alerts/runbooks/<alert>.md = a title, a block generated from the policy (severity, exact condition,
 * dedup key, links) and the prose the on-call reads, written by people in the alert's folder
 * (services/engine/rules/<alert>/runbook.md). The numbers in a runbook never drift: they are regenerated.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AnyRuleDefinition } from '../../engine/rules/definition.js';
import type { RuleSpec } from './rule-specs.js';
import { promExpr } from './rule-specs.js';
import { alertConfig, type Policy } from '../../engine/policy.js';

export const BEGIN = '<!-- BEGIN GENERATED from alerts/policy.yaml by `signwatch alerts generate`: do not edit inside -->';
export const END = '<!-- END GENERATED -->';

/** services/engine/rules/ of the repository (resolved from this module, so it works from dist/). */
export const RULES_SOURCE_DIR = fileURLToPath(new URL('../../../../services/engine/rules/', import.meta.url));

/** The prose of an alert's runbook from its folder; undefined when the folder has none. */
export function readRunbookProse(alert: string, dir = RULES_SOURCE_DIR): string | undefined {
  const p = `${dir}${alert}/runbook.md`;
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
}

const action = { critical: 'page (PagerDuty, critical)', warning: 'warning (PagerDuty warning / chat)', ticket: 'ticket (one per certificate)' } as const;

/** A new alert's runbook.md starts from this: what to write, section by section. */
export const RUNBOOK_SKELETON =
  '## What it means\n\n_(for the on-call: what broke, for whom, how urgent)_\n\n## First checks\n\n_(the queries and dashboards to open first)_\n\n## Fix\n\n_(the steps that make it resolve)_\n';

export function runbookBlock(policy: Readonly<Policy>, def: AnyRuleDefinition, s: RuleSpec): string {
  const keyLabels = [...new Set(['region', ...def.labels])]
    .sort()
    .map((k) => `${k}=<${k}>`)
    .join(',');
  const rows: [string, string][] = [
    ['Action', action[s.severity]],
    ['Fires when (Prometheus)', `\`${promExpr(s)}\``],
    ['Meaning', s.description],
    ['Dedup key (direct path)', `\`signwatch/${s.alert}/${keyLabels}\``],
    ['Dashboard', s.dashboardUrl.replace('{{ $labels.region }}', '<region>')],
    ...(def.runbookRows?.(alertConfig(policy, def.name)) ?? []),
  ];
  const table = ['| | |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${v.replace(/\|/g, '\\|')} |`)].join('\n');
  return `${BEGIN}\n${table}\n${END}`;
}

export function renderRunbook(prose: string | undefined, policy: Readonly<Policy>, def: AnyRuleDefinition, s: RuleSpec): string {
  return `# ${s.alert}\n\n${runbookBlock(policy, def, s)}\n\n${prose ?? RUNBOOK_SKELETON}`;
}
