/** cert_expiry{region, sha1}: one rotation ticket per certificate. See rule.ts for the exact semantics. */
import { formatDuration } from '../../../platform/duration.js';
import { defineRule, goFloat, promSelector } from '../definition.js';
import { policy } from './policy.js';
import { CertExpiry, daysLeft } from './rule.js';

export const METRIC = 'signwatch_cert_days_to_expiry_days';

export default defineRule({
  name: 'cert_expiry',
  meaning: 'a signing certificate still in the keychains of a region expires in less than the policy days (resolves when it left them, or was replaced; never on silence alone)',
  policy,
  types: ['cert', 'heartbeat'],
  labels: ['sha1'],
  create: (region, cfg) => new CertExpiry(region, cfg),
  horizon: (cfg) => Math.max(cfg.staleAfter, cfg.forgetAfter),
  gauges: [
    {
      name: METRIC,
      description: 'Whole days until notAfter, per certificate that has not left the region nor been replaced',
      *read(r) {
        const t = r.clock;
        if (!Number.isFinite(t)) return;
        for (const c of r.certs.values()) {
          if (r.resolution(c, t) === undefined) yield { labels: { sha1: c.sha1, subject: c.subject }, value: daysLeft(c.notAfter, t) };
        }
      },
    },
  ],
  alertRule(p, ctx) {
    const sum = (subject: string, sha1: string, v: string) => `certificate "${subject}" (${sha1}) expires in ${v} days (ticket when < ${p.days}): rotate it`;
    const quiet = '1111111111111111111111111111111111111111';
    const due = '2222222222222222222222222222222222222222';
    return {
      alert: 'cert_expiry',
      severity: p.severity,
      runbookUrl: ctx.runbookUrl,
      base: `min by (sha1, subject) (${METRIC})`,
      op: '<',
      threshold: p.days,
      keyLabels: ['sha1', 'subject'],
      summary: sum('{{ $labels.subject }}', '{{ $labels.sha1 }}', '{{ $value }}'),
      description: `Whole days from now to the certificate's notAfter, lowest over the regions whose hosts still have it (evidence newer than ${formatDuration(p.staleAfter)}, or silent hosts without a replacement). One ticket per certificate (key signwatch/cert_expiry/<sha1>).`,
      dashboardUrl: ctx.fleetDashboardUrl,
      series: [
        { series: promSelector(METRIC, { region: 'HK', sha1: quiet, subject: 'Apple Distribution: Quiet' }), value: p.days },
        { series: promSelector(METRIC, { region: 'HK', sha1: due, subject: 'Apple Distribution: Due' }), value: p.days + 5 },
        { series: promSelector(METRIC, { region: 'JP', sha1: due, subject: 'Apple Distribution: Due' }), value: p.days - 1 },
      ],
      fire: [{ labels: { sha1: due, subject: 'Apple Distribution: Due' }, summary: sum('Apple Distribution: Due', due, goFloat(p.days - 1)) }],
    };
  },
  runbookRows: () => [['Ticket key', '`signwatch/cert_expiry/<sha1>`: one ticket per certificate, whatever the regions']],
});
