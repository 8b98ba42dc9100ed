/** clock_skew{region, host}: a host's sntp offset is beyond the limit. See rule.ts for the exact semantics. */
import { formatDuration } from '../../../platform/duration.js';
import { defineRule, goFloat, promSelector } from '../definition.js';
import { policy } from './policy.js';
import { ClockSkew } from './rule.js';

export const METRIC = 'signwatch_clock_offset_ms';

export default defineRule({
  name: 'clock_skew',
  meaning: "a host's latest sntp probe shows a clock offset beyond the limit, or it sent events stamped in the future (notarization timestamps break)",
  policy,
  types: ['clock'],
  labels: ['host'],
  create: (region, cfg) => new ClockSkew(region, cfg),
  horizon: (cfg) => Math.max(cfg.futureHold, cfg.forgetAfter),
  gauges: [
    {
      name: METRIC,
      description: 'Clock offset of the host: the latest sntp probe, or the skew of an event it stamped in the future',
      *read(r) {
        for (const [host, offsetMs] of r.offsets()) yield { labels: { host }, value: offsetMs };
      },
    },
  ],
  alertRule(p, ctx) {
    const sum = (r: string, h: string, v: string) => `${r}/${h}: clock offset |${v}| ms beyond ${p.maxOffsetMs} ms: notarization timestamps will break; check NTP (sntp)`;
    return {
      alert: 'clock_skew',
      severity: p.severity,
      runbookUrl: ctx.runbookUrl,
      base: `abs(${METRIC})`,
      op: '>',
      threshold: p.maxOffsetMs,
      keyLabels: ['region', 'host'],
      summary: sum('{{ $labels.region }}', '{{ $labels.host }}', '{{ $value }}'),
      description: `Absolute clock offset of the host: its latest sntp probe, or for ${formatDuration(p.futureHold)} the skew of an event it stamped more than maxFutureSkew ahead of the broker's time.`,
      dashboardUrl: ctx.regionDashboardUrl,
      series: [
        { series: promSelector(METRIC, { region: 'HK', host: 'mac-hk-01' }), value: p.maxOffsetMs },
        { series: promSelector(METRIC, { region: 'JP', host: 'mac-jp-01' }), value: -(p.maxOffsetMs + 1) },
        { series: promSelector(METRIC, { region: 'KR', host: 'mac-kr-01' }), value: p.maxOffsetMs + 1 },
      ],
      fire: [
        { labels: { region: 'JP', host: 'mac-jp-01' }, region: 'JP', summary: sum('JP', 'mac-jp-01', goFloat(p.maxOffsetMs + 1)) },
        { labels: { region: 'KR', host: 'mac-kr-01' }, region: 'KR', summary: sum('KR', 'mac-kr-01', goFloat(p.maxOffsetMs + 1)) },
      ],
    };
  },
});
