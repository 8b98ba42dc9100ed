/**
 * One RuleSpec per enabled alert: each alert's folder renders its own (services/engine/rules/<alert>/index.ts
 * `alertRule`), with the thresholds of the policy and the links of this deployment. Prometheus rules, promtool
 * tests, Grafana rules and runbooks are all rendered from these specs, so a threshold is written only in
 * alerts/policy.yaml.
 */
import { alertConfig, type Policy } from '../../engine/policy.js';
import { enabledRules } from '../../engine/engine.js';
import { RULES, type Registry } from '../../engine/rules/index.js';
import type { RuleSpec } from '../../engine/rules/definition.js';
import { dashboardUrl, runbookUrl } from '../links.js';

export type { RuleSpec, TestSeries, ExpectedAlert } from '../../engine/rules/definition.js';

export function ruleSpecs(policy: Readonly<Policy>, rules: Registry = RULES): RuleSpec[] {
  const regionDashboardUrl = dashboardUrl(policy, '{{ $labels.region }}');
  const fleetDashboardUrl = dashboardUrl(policy);
  return enabledRules(policy, rules).map((d) => {
    const cfg = alertConfig(policy, d.name);
    // the same damping the engine applies (every alert's `for` / `keepFiringFor`)
    return { ...d.alertRule(cfg, { runbookUrl: runbookUrl(policy, d.name), regionDashboardUrl, fleetDashboardUrl }), forMs: cfg.for, keepFiringForMs: cfg.keepFiringFor };
  });
}

export const promExpr = (s: RuleSpec): string => `${s.base} ${s.op} ${s.threshold}`;
