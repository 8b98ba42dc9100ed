/** cert_revoked{region, sha1}: a revoked signing certificate is still in the keychains. See rule.ts. */
import { defineRule, promSelector } from '../definition.js';
import { policy } from './policy.js';
import { CertRevoked } from './rule.js';

/** Hosts that still have the revoked certificate. */
export const METRIC = 'signwatch_cert_revoked_hosts';

export default defineRule({
  name: 'cert_revoked',
  meaning: 'a revoked signing certificate (CSSMERR_TP_CERT_REVOKED) is still in the keychains of a region: signing with it fails',
  policy,
  types: ['cert', 'heartbeat', 'codesign'],
  labels: ['sha1'],
  create: (region, cfg) => new CertRevoked(region, cfg),
  horizon: (cfg) => Math.max(cfg.staleAfter, cfg.forgetAfter),
  gauges: [
    {
      name: METRIC,
      description: 'Hosts that still have a revoked signing certificate, per certificate',
      *read(r) {
        for (const c of r.revokedPresent()) yield { labels: { sha1: c.sha1, subject: c.subject }, value: Math.max(1, r.presence.present(c, r.clock).length) };
      },
    },
  ],
  alertRule(p, ctx) {
    const sum = (r: string, subject: string) => `${r}: signing certificate "${subject}" is revoked and still in the keychains: remove or replace it`;
    const due = '3333333333333333333333333333333333333333';
    return {
      alert: 'cert_revoked',
      severity: p.severity,
      runbookUrl: ctx.runbookUrl,
      base: `max by (region, sha1, subject) (${METRIC})`,
      op: '>',
      threshold: 0,
      keyLabels: ['region', 'sha1', 'subject'],
      summary: sum('{{ $labels.region }}', '{{ $labels.subject }}'),
      description: 'Hosts of the region that still have a certificate the trust evaluation reports revoked (security find-identity, or a signing call that failed with CSSMERR_TP_CERT_REVOKED).',
      dashboardUrl: ctx.regionDashboardUrl,
      series: [
        { series: promSelector(METRIC, { region: 'HK', sha1: 'ab'.repeat(20), subject: 'Apple Distribution: Fine' }), value: 0 },
        { series: promSelector(METRIC, { region: 'US', sha1: due, subject: 'Apple Distribution: Revoked' }), value: 1 },
      ],
      fire: [{ labels: { region: 'US', sha1: due, subject: 'Apple Distribution: Revoked' }, region: 'US', summary: sum('US', 'Apple Distribution: Revoked') }],
    };
  },
});
