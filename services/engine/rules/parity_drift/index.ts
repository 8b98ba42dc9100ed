/** parity_drift{region, host}: a host's configuration differs from the fleet's majority (a fleet alert). See rule.ts. */
import { formatDuration } from '../../../platform/duration.js';
import { defineRule, promSelector } from '../definition.js';
import { policy } from './policy.js';
import { ParityDrift } from './rule.js';

export const METRIC = 'signwatch_parity_drift_hosts';

export default defineRule({
  name: 'parity_drift',
  meaning: "a host's wrapper checksum, keychain path, search list, team IDs or secret version differ from the fleet's majority, or its notary account label from its region's",
  policy,
  types: ['heartbeat'],
  labels: ['host'],
  createFleet: (cfg) => new ParityDrift(cfg),
  horizon: (cfg) => cfg.staleAfter,
  gauges: [
    {
      name: METRIC,
      description: "Hosts of the region whose configuration differs from the fleet's majority",
      *read(r) {
        const drift = r.driftByRegion();
        for (const region of r.regions()) yield { labels: { region }, value: drift.get(region) ?? 0 };
      },
    },
  ],
  alertRule(p, ctx) {
    const sum = (r: string, v: string) => `${r}: ${v} host(s) differ from the fleet's majority (${p.fields.join(', ')})`;
    return {
      alert: 'parity_drift',
      severity: p.severity,
      runbookUrl: ctx.runbookUrl,
      base: METRIC,
      op: '>',
      threshold: 0,
      keyLabels: ['region'],
      summary: sum('{{ $labels.region }}', '{{ $value }}'),
      description: `Hosts whose latest heartbeat (newer than ${formatDuration(p.staleAfter)}) differs from the fleet's majority${p.perRegion.length ? ` (${p.perRegion.join(', ')}: from the region's)` : ''}.`,
      dashboardUrl: ctx.regionDashboardUrl,
      series: [
        { series: promSelector(METRIC, { region: 'HK' }), value: 0 },
        { series: promSelector(METRIC, { region: 'JP' }), value: 1 },
      ],
      fire: [{ labels: { region: 'JP' }, region: 'JP', summary: sum('JP', '1') }],
    };
  },
});
