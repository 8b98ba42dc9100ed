/** notary_apple_outage{region}: Apple's notary service is failing (429/5xx, network), retried or not. See rule.ts. */
import { formatDuration } from '../../../platform/duration.js';
import { defineRule, goFloat, promSelector } from '../definition.js';
import { policy } from './policy.js';
import { NotaryAppleOutage } from './rule.js';

export const METRIC = 'signwatch_notary_apple_failures_in_window';

export default defineRule({
  name: 'notary_apple_outage',
  meaning: "notarization attempts fail on Apple's side (HTTP 429/5xx, network), counting retries that later succeeded: an Apple API outage, not ours",
  policy,
  types: ['notarize'],
  labels: [],
  create: (region, cfg) => new NotaryAppleOutage(region, cfg),
  horizon: (cfg) => cfg.window,
  gauges: [{ name: METRIC, description: 'Apple-side failed notarization attempts (429/5xx, network) in the policy window', read: (r) => [{ labels: {}, value: r.failures }] }],
  alertRule(p, ctx) {
    const w = formatDuration(p.window);
    const sum = (r: string, v: string) => `${r}: ${v} notarization attempts failed on Apple's side in the trailing ${w} (warn when > ${p.threshold}): an Apple API outage`;
    return {
      alert: 'notary_apple_outage',
      severity: p.severity,
      runbookUrl: ctx.runbookUrl,
      base: METRIC,
      op: '>',
      threshold: p.threshold,
      keyLabels: ['region'],
      summary: sum('{{ $labels.region }}', '{{ $value }}'),
      description: `Failed notarization attempts of class apple_api (HTTP 429/5xx) or network in the trailing ${w} per region, including the failed attempts of submissions that later succeeded.`,
      dashboardUrl: ctx.regionDashboardUrl,
      series: [
        { series: promSelector(METRIC, { region: 'HK' }), value: p.threshold },
        { series: promSelector(METRIC, { region: 'JP' }), value: p.threshold + 1 },
      ],
      fire: [{ labels: { region: 'JP' }, region: 'JP', summary: sum('JP', goFloat(p.threshold + 1)) }],
    };
  },
});
