/** codesign_keychain_failures{region}: the page. See rule.ts for the exact semantics, runbook.md for the on-call. */
import { formatDuration } from '../../../platform/duration.js';
import { defineRule, goFloat, promSelector } from '../definition.js';
import { freezes, policy } from './policy.js';
import { KeychainFailures } from './rule.js';

/** Exact count of keychain-class codesign failures in the trailing window, per region. */
export const METRIC = 'signwatch_keychain_failures_in_window';

export default defineRule({
  name: 'codesign_keychain_failures',
  meaning: 'codesign failures with keychain-class errors (errSecInternalComponent, locked keychain, …) in the trailing window of a region',
  policy,
  types: ['codesign', 'notarize'],
  labels: [],
  create: (region, cfg) => new KeychainFailures(region, cfg),
  horizon: (cfg) => cfg.window,
  freezes,
  gauges: [{ name: METRIC, description: 'Keychain-class signing failures in the policy window of codesign_keychain_failures (exact)', read: (r) => [{ labels: {}, value: r.count }] }],
  alertRule(p, ctx) {
    const w = formatDuration(p.window);
    const sum = (r: string, v: string) => `${r}: ${v} keychain-class codesign failures in the trailing ${w} (page when > ${p.threshold})${freezes(p) ? '; releases frozen' : ''}`;
    return {
      alert: 'codesign_keychain_failures',
      severity: p.severity,
      runbookUrl: ctx.runbookUrl,
      base: METRIC,
      op: '>',
      threshold: p.threshold,
      keyLabels: ['region'],
      summary: sum('{{ $labels.region }}', '{{ $value }}'),
      description: `Count of codesign failures with error class "keychain" in the trailing ${w} per region, exact (computed by the signwatch processor).`,
      dashboardUrl: ctx.regionDashboardUrl,
      series: [
        { series: promSelector(METRIC, { region: 'HK' }), value: p.threshold },
        { series: promSelector(METRIC, { region: 'JP' }), value: p.threshold + 1 },
      ],
      fire: [{ labels: { region: 'JP' }, region: 'JP', summary: sum('JP', goFloat(p.threshold + 1)) }],
    };
  },
  runbookRows: (p) => [
    ['Release gate', freezes(p) ? 'releases of the region are **frozen** until it resolves (`signwatch gate check --region <R>`)' : 'does not freeze releases (policy freezes: false)'],
  ],
});
