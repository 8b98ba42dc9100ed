/** clock_unverified{region, host}: every recent sntp probe of the host failed. See rule.ts. */
import { formatDuration } from '../../../platform/duration.js';
import { defineRule, goFloat, promSelector } from '../definition.js';
import { policy } from './policy.js';
import { ClockUnverified } from './rule.js';

export const METRIC = 'signwatch_clock_probe_failures';

export default defineRule({
  name: 'clock_unverified',
  meaning: "the host's sntp probes keep failing (timeout, DNS, Kiss-of-death): its clock offset is unknown",
  policy,
  types: ['clock'],
  labels: ['host'],
  create: (region, cfg) => new ClockUnverified(region, cfg),
  horizon: (cfg) => Math.max(cfg.for, cfg.forgetAfter),
  gauges: [
    {
      name: METRIC,
      description: 'Failed clock probes in a row, per host (0 after a successful probe)',
      *read(r) {
        for (const [host, n] of r.failuresByHost()) yield { labels: { host }, value: n };
      },
    },
  ],
  alertRule(p, ctx) {
    const sum = (r: string, h: string, v: string) => `${r}/${h}: ${v} clock probes in a row failed: the clock offset is unknown (check NTP reachability)`;
    return {
      alert: 'clock_unverified',
      severity: p.severity,
      runbookUrl: ctx.runbookUrl,
      base: METRIC,
      op: '>',
      threshold: 0,
      keyLabels: ['region', 'host'],
      summary: sum('{{ $labels.region }}', '{{ $labels.host }}', '{{ $value }}'),
      description: `Consecutive failed sntp probes of the host; fires after they have kept failing for ${formatDuration(p.for)}.`,
      dashboardUrl: ctx.regionDashboardUrl,
      series: [
        { series: promSelector(METRIC, { region: 'HK', host: 'mac-hk-01' }), value: 0 },
        { series: promSelector(METRIC, { region: 'JP', host: 'mac-jp-01' }), value: 1 },
      ],
      fire: [{ labels: { region: 'JP', host: 'mac-jp-01' }, region: 'JP', summary: sum('JP', 'mac-jp-01', goFloat(1)) }],
    };
  },
});
