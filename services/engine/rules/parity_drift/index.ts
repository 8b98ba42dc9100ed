/** parity_drift{region, host}: a host's configuration differs from its region's majority. See rule.ts. */
import { formatDuration } from '../../../platform/duration.js';
import { defineRule, promSelector } from '../definition.js';
import { policy } from './policy.js';
import { ParityDrift } from './rule.js';

export const METRIC = 'signwatch_parity_drift_hosts';

export default defineRule({
  name: 'parity_drift',
  meaning: "a host's wrapper checksum, keychain path, search list or team IDs differ from the majority",
  policy,
  types: ['heartbeat'],
  labels: ['host'],
  create: (region, cfg) => new ParityDrift(region, cfg),
  horizon: (cfg) => cfg.staleAfter,
  gauges: [{ name: METRIC, description: 'Hosts whose configuration differs from the region majority', read: (r) => [{ labels: {}, value: r.firing().length }] }],
  alertRule(p, ctx) {
    const sum = (r: string, v: string) => `${r}: ${v} host(s) differ from the region's majority (wrapper checksum, keychain path, search list or team IDs)`;
    return {
      alert: 'parity_drift',
      severity: p.severity,
      runbookUrl: ctx.runbookUrl,
      base: METRIC,
      op: '>',
      threshold: 0,
      keyLabels: ['region'],
      summary: sum('{{ $labels.region }}', '{{ $value }}'),
      description: `Hosts whose latest heartbeat (newer than ${formatDuration(p.staleAfter)}) differs from the region's majority.`,
      dashboardUrl: ctx.regionDashboardUrl,
      series: [
        { series: promSelector(METRIC, { region: 'HK' }), value: 0 },
        { series: promSelector(METRIC, { region: 'JP' }), value: 1 },
      ],
      fire: [{ labels: { region: 'JP' }, region: 'JP', summary: sum('JP', '1') }],
    };
  },
});
