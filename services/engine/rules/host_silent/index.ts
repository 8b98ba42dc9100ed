/** host_silent{region, host}: a host stopped sending heartbeats. See rule.ts. */
import { formatDuration } from '../../../platform/duration.js';
import { defineRule, goFloat, promSelector } from '../definition.js';
import { policy } from './policy.js';
import { HostSilent } from './rule.js';

/** Seconds since the host's last heartbeat, at the region's clock (event time; the wall clock live). */
export const METRIC = 'signwatch_host_silence_seconds';

export default defineRule({
  name: 'host_silent',
  meaning: 'a host sent no heartbeat for the policy period (agent down, host down, or not back after a reboot)',
  policy,
  types: ['heartbeat'],
  labels: ['host'],
  create: (region, cfg) => new HostSilent(region, cfg),
  horizon: (cfg) => cfg.forgetAfter,
  gauges: [
    {
      name: METRIC,
      description: "Seconds since the host's last heartbeat, at the region's clock",
      *read(r) {
        for (const [host, ts] of r.last) if (Number.isFinite(r.clock)) yield { labels: { host }, value: Math.max(0, Math.floor((r.clock - ts) / 1000)) };
      },
    },
  ],
  alertRule(p, ctx) {
    const s = p.silentAfter / 1000;
    const sum = (r: string, h: string, v: string) => `${r}/${h}: no heartbeat for {{ $value }} s (limit ${formatDuration(p.silentAfter)})`.replace('{{ $value }}', v);
    return {
      alert: 'host_silent',
      severity: p.severity,
      runbookUrl: ctx.runbookUrl,
      base: METRIC,
      op: '>',
      threshold: s - 1,
      keyLabels: ['region', 'host'],
      summary: sum('{{ $labels.region }}', '{{ $labels.host }}', '{{ $value }}'),
      description: `Seconds since the host's last heartbeat (the daemon sends one a minute); fires from ${formatDuration(p.silentAfter)} of silence on.`,
      dashboardUrl: ctx.regionDashboardUrl,
      series: [
        { series: promSelector(METRIC, { region: 'HK', host: 'mac-hk-01' }), value: s - 1 },
        { series: promSelector(METRIC, { region: 'JP', host: 'mac-jp-01' }), value: s },
      ],
      fire: [{ labels: { region: 'JP', host: 'mac-jp-01' }, region: 'JP', summary: sum('JP', 'mac-jp-01', goFloat(s)) }],
    };
  },
});
