/** acl_outside_window{region, host}: an undeclared keychain ACL change. See rule.ts for the exact semantics. */
import { formatDuration } from '../../../platform/duration.js';
import { ALERT_FIRING_METRIC, defineRule, promSelector } from '../definition.js';
import { policy } from './policy.js';
import { AclOutsideWindow } from './rule.js';

export default defineRule({
  name: 'acl_outside_window',
  meaning: 'a keychain ACL change (set-key-partition-list) ran outside a declared maintenance window',
  policy,
  types: ['acl'],
  labels: ['host'],
  create: (region, cfg) => new AclOutsideWindow(region, cfg),
  horizon: (cfg) => cfg.holdFor,
  gauges: [],
  // decided by the engine on single events (no threshold gauge): the rule mirrors its firing state
  alertRule(p, ctx) {
    const sum = (r: string, h: string) => `${r}/${h}: set-key-partition-list ran outside a declared maintenance window (security)`;
    return {
      alert: 'acl_outside_window',
      severity: p.severity,
      runbookUrl: ctx.runbookUrl,
      base: `max by (region, host) (${ALERT_FIRING_METRIC}{alert="acl_outside_window"})`,
      op: '>',
      threshold: 0,
      keyLabels: ['region', 'host'],
      summary: sum('{{ $labels.region }}', '{{ $labels.host }}'),
      description: `Mirrors the signwatch engine (${ALERT_FIRING_METRIC}): it holds for ${formatDuration(p.holdFor)} after the command.`,
      dashboardUrl: ctx.regionDashboardUrl,
      series: [
        { series: promSelector(ALERT_FIRING_METRIC, { alert: 'acl_outside_window', region: 'HK', host: 'mac-hk-01', severity: p.severity }), value: 0 },
        { series: promSelector(ALERT_FIRING_METRIC, { alert: 'acl_outside_window', region: 'JP', host: 'mac-jp-01', severity: p.severity }), value: 1 },
      ],
      fire: [{ labels: { region: 'JP', host: 'mac-jp-01' }, region: 'JP', summary: sum('JP', 'mac-jp-01') }],
    };
  },
});
