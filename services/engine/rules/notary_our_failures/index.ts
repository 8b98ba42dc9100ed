/** notary_our_failures{region}: notarization fails on our side (credentials, keychain). See rule.ts. */
import { formatDuration } from '../../../platform/duration.js';
import { defineRule, goFloat, promSelector } from '../definition.js';
import { policy } from './policy.js';
import { NotaryOurFailures } from './rule.js';

export const METRIC = 'signwatch_notary_our_failures_in_window';

export default defineRule({
  name: 'notary_our_failures',
  meaning: 'notarization submissions fail on our side: bad credentials (auth) or the keychain holding the notarytool profile',
  policy,
  types: ['notarize'],
  labels: [],
  create: (region, cfg) => new NotaryOurFailures(region, cfg),
  horizon: (cfg) => cfg.window,
  gauges: [{ name: METRIC, description: 'Notarization submissions that failed on our side (auth, keychain) in the policy window', read: (r) => [{ labels: {}, value: r.count }] }],
  alertRule(p, ctx) {
    const w = formatDuration(p.window);
    const sum = (r: string, v: string) => `${r}: ${v} notarization submission(s) failed on our side (credentials or keychain) in the trailing ${w}`;
    return {
      alert: 'notary_our_failures',
      severity: p.severity,
      runbookUrl: ctx.runbookUrl,
      base: METRIC,
      op: '>',
      threshold: p.threshold,
      keyLabels: ['region'],
      summary: sum('{{ $labels.region }}', '{{ $value }}'),
      description: `Notarization submissions that ended in error of class auth or keychain in the trailing ${w} per region (never retried).`,
      dashboardUrl: ctx.regionDashboardUrl,
      series: [
        { series: promSelector(METRIC, { region: 'HK' }), value: p.threshold },
        { series: promSelector(METRIC, { region: 'JP' }), value: p.threshold + 1 },
      ],
      fire: [{ labels: { region: 'JP' }, region: 'JP', summary: sum('JP', goFloat(p.threshold + 1)) }],
    };
  },
});
