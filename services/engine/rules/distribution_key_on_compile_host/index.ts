/** distribution_key_on_compile_host{region, host}: a distribution identity on a compile-pool host. See rule.ts. */
import { formatDuration } from '../../../platform/duration.js';
import { ALERT_FIRING_METRIC, defineRule, promSelector } from '../definition.js';
import { policy } from './policy.js';
import { DistributionKey } from './rule.js';

export default defineRule({
  name: 'distribution_key_on_compile_host',
  meaning: 'a compile-pool host reports a distribution signing identity (those belong on signing hosts only)',
  policy,
  types: ['cert'],
  labels: ['host'],
  create: (region, cfg) => new DistributionKey(region, cfg),
  horizon: (cfg) => cfg.staleAfter,
  gauges: [],
  alertRule(p, ctx) {
    const sum = (r: string, h: string) => `${r}/${h}: a distribution signing identity is present on a compile-pool host: remove it`;
    return {
      alert: 'distribution_key_on_compile_host',
      severity: p.severity,
      runbookUrl: ctx.runbookUrl,
      base: `max by (region, host) (${ALERT_FIRING_METRIC}{alert="distribution_key_on_compile_host"})`,
      op: '>',
      threshold: 0,
      keyLabels: ['region', 'host'],
      summary: sum('{{ $labels.region }}', '{{ $labels.host }}'),
      description: `Mirrors the signwatch engine (${ALERT_FIRING_METRIC}): a certificate of kind ${p.kinds.join(', ')} reported by a pool=compile host in the last ${formatDuration(p.staleAfter)}.`,
      dashboardUrl: ctx.regionDashboardUrl,
      series: [
        { series: promSelector(ALERT_FIRING_METRIC, { alert: 'distribution_key_on_compile_host', region: 'HK', host: 'mac-hk-02', severity: p.severity }), value: 0 },
        { series: promSelector(ALERT_FIRING_METRIC, { alert: 'distribution_key_on_compile_host', region: 'US', host: 'mac-us-07', severity: p.severity }), value: 1 },
      ],
      fire: [{ labels: { region: 'US', host: 'mac-us-07' }, region: 'US', summary: sum('US', 'mac-us-07') }],
    };
  },
});
