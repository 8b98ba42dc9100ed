/** region_silent{region}: no host of the region sent a heartbeat for silentAfter. The rule is host_silent's, keyed by region. */
import { formatDuration } from '../../../platform/duration.js';
import { defineRule, goFloat, promSelector } from '../definition.js';
import { SilenceRule } from '../host_silent/rule.js';
import { policy } from './policy.js';

/** Seconds since the latest heartbeat of any host of the region, at the region's clock (the wall clock live). */
export const METRIC = 'signwatch_region_silence_seconds';

export default defineRule({
  name: 'region_silent',
  meaning: 'no host of a region sent a heartbeat for the policy period: the region is down or cut off from Kafka (critical: nothing there is observed, so it freezes)',
  policy,
  types: ['heartbeat'],
  labels: [],
  create: (region, cfg) => new SilenceRule('region_silent', region, cfg, 'region'),
  horizon: (cfg) => cfg.forgetAfter,
  gauges: [
    {
      name: METRIC,
      description: "Seconds since the latest heartbeat of any host of the region, at the region's clock",
      *read(r) {
        for (const [, ts] of r.last) if (Number.isFinite(r.clock)) yield { labels: {}, value: Math.max(0, Math.floor((r.clock - ts) / 1000)) };
      },
    },
  ],
  alertRule(p, ctx) {
    const s = p.silentAfter / 1000;
    const sum = (r: string, v: string) => `${r}: no host of the region sent a heartbeat for ${v} s (limit ${formatDuration(p.silentAfter)})`;
    return {
      alert: 'region_silent',
      severity: p.severity,
      runbookUrl: ctx.runbookUrl,
      base: METRIC,
      op: '>',
      threshold: s - 1,
      keyLabels: ['region'],
      summary: sum('{{ $labels.region }}', '{{ $value }}'),
      description: `Seconds since the latest heartbeat of any host of the region; fires from ${formatDuration(p.silentAfter)} of silence on.`,
      dashboardUrl: ctx.regionDashboardUrl,
      series: [
        { series: promSelector(METRIC, { region: 'HK' }), value: s - 1 },
        { series: promSelector(METRIC, { region: 'JP' }), value: s },
      ],
      fire: [{ labels: { region: 'JP' }, region: 'JP', summary: sum('JP', goFloat(s)) }],
    };
  },
});
