/** spool_dropped{region, host}: an agent's spool overflowed and lost events. See rule.ts. */
import { formatDuration } from '../../../platform/duration.js';
import { defineRule, goFloat, promSelector } from '../definition.js';
import { policy } from './policy.js';
import { SpoolDropped } from './rule.js';

/** Events the host's spool dropped in its latest increases (0 once holdFor passed without a new loss). */
/** Each host's reported total of dropped events (heartbeat spoolDropped), for as long as the host is remembered. */
export const TOTAL_METRIC = 'signwatch_spool_dropped_total_reported';

export const METRIC = 'signwatch_spool_dropped_events';

export default defineRule({
  name: 'spool_dropped',
  meaning: "an agent's durable spool was full and dropped events before they reached Kafka",
  policy,
  types: ['heartbeat'],
  labels: ['host'],
  create: (region, cfg) => new SpoolDropped(region, cfg),
  horizon: (cfg) => Math.max(cfg.holdFor, cfg.forgetAfter),
  gauges: [
    {
      name: TOTAL_METRIC,
      description: "The fleet's drops: each host's total of events its spool dropped, as its latest heartbeat reports it",
      *read(r) {
        for (const [host, h] of r.hosts) yield { labels: { host }, value: h.total };
      },
    },
    {
      name: METRIC,
      description: 'Events the agent spool dropped in its recent increases (holdFor), per host',
      *read(r) {
        for (const [host, h] of r.hosts) yield { labels: { host }, value: r.clock < h.until ? h.dropped : 0 };
      },
    },
  ],
  alertRule(p, ctx) {
    const sum = (r: string, h: string, v: string) => `${r}/${h}: the agent spool dropped ${v} event(s) in the last ${formatDuration(p.holdFor)}: they never reached Kafka`;
    return {
      alert: 'spool_dropped',
      severity: p.severity,
      runbookUrl: ctx.runbookUrl,
      base: METRIC,
      op: '>',
      threshold: 0,
      keyLabels: ['region', 'host'],
      summary: sum('{{ $labels.region }}', '{{ $labels.host }}', '{{ $value }}'),
      description: `Events the host's spool dropped (heartbeat spoolDropped increased) within the last ${formatDuration(p.holdFor)}.`,
      dashboardUrl: ctx.regionDashboardUrl,
      series: [
        { series: promSelector(METRIC, { region: 'HK', host: 'mac-hk-01' }), value: 0 },
        { series: promSelector(METRIC, { region: 'JP', host: 'mac-jp-01' }), value: 1 },
      ],
      fire: [{ labels: { region: 'JP', host: 'mac-jp-01' }, region: 'JP', summary: sum('JP', 'mac-jp-01', goFloat(1)) }],
    };
  },
});
