/**
 * cert_expiry{region, sha1}: fires when notAfter − t < days for a certificate of the region that has not left it;
 * one rotation ticket per certificate (keyed by sha1 across regions). Where a certificate is comes from
 * services/engine/cert-presence.ts (reports, and the hosts' inventories in their heartbeats). It resolves when
 *   - the certificate left every keychain that had it (inventories without it), or
 *   - no host of the region has it present any more and the region reported a replacement (same kind and team,
 *     later notAfter) at or after the old one's last evidence;
 * never on silence alone: hosts that stopped reporting keep the ticket open (host_silent says why they are quiet).
 * Breakpoints: notAfter − days + 1 ms (first instant of "< days"), staleness of each host's evidence, forgetting.
 * Value: whole days left (floor), the one day count of summaries, gauges and tickets.
 */
import type { Region, SignEvent } from '../../../../schemas/events.js';
import { dampingOf } from '../../../../schemas/alert.js';
import type { Config } from './policy.js';
import { CertPresence, type TrackedCert } from '../../cert-presence.js';
import { BaseRule, DetailsBuilder } from '../../rule.js';
import { DAY, toIso } from '../../time.js';
import type { Transition } from '../../types.js';

/** Whole days from t to notAfter (floor): 17 days 23 h is 17. */
export const daysLeft = (notAfter: number, t: number): number => Math.floor((notAfter - t) / DAY);

export class CertExpiry extends BaseRule {
  readonly presence: CertPresence;
  private readonly horizon: number;

  constructor(
    region: Region,
    private readonly cfg: Config,
  ) {
    super('cert_expiry', region, cfg.severity, dampingOf(cfg));
    this.horizon = cfg.days * DAY;
    this.presence = new CertPresence(cfg.staleAfter, cfg.forgetAfter);
  }

  get certs(): ReadonlyMap<string, TrackedCert> {
    return this.presence.certs;
  }

  observe(event: SignEvent, ts: number): void {
    if (event.type === 'cert') {
      this.presence.report(event, ts);
      this.dirty = true;
    } else if (event.type === 'heartbeat' && this.presence.inventoryOf(event, ts)) {
      this.dirty = true;
    }
  }

  protected nextChange(): number {
    let next = this.presence.nextChange(this.pos);
    for (const c of this.presence.certs.values()) {
      const enter = c.notAfter - this.horizon + 1;
      if (enter > this.pos && enter < next) next = enter;
    }
    return next;
  }

  /** Why the certificate no longer needs a ticket at t, or undefined while it does. */
  resolution(c: TrackedCert, t: number): string | undefined {
    if (c.removed) return 'left every keychain that had it';
    if (this.presence.present(c, t).length) return undefined;
    const r = this.presence.replacement(c);
    return r ? `replaced by ${r.sha1.slice(0, 8)} (expires ${toIso(r.notAfter)})` : undefined;
  }

  protected evaluate(t: number, out: Transition[]): void {
    const gone = this.presence.forget(t);
    for (const c of gone) this.report(out, t, c, false, 'forgotten: no host reported it for the retention period');
    for (const c of [...this.presence.certs.values()]) {
      const why = this.resolution(c, t);
      this.report(out, t, c, why === undefined && c.notAfter - t < this.horizon, why);
    }
  }

  private report(out: Transition[], t: number, c: TrackedCert, fire: boolean, why: string | undefined): void {
    const days = daysLeft(c.notAfter, t);
    const what = `${this.region}: certificate "${c.subject}" (${c.certKind || 'kind unknown'}${c.teamId ? `, team ${c.teamId}` : ''})`;
    this.set(
      out,
      t,
      { region: this.region, sha1: c.sha1 },
      fire,
      days,
      this.cfg.days,
      (s) => (s === 'firing' ? `${what} expires ${toIso(c.notAfter)}, in ${days} days (< ${this.cfg.days}): rotate it` : why ? `${what}: ${why}` : `${what} now expires ${toIso(c.notAfter)}, in ${days} days`),
      () => {
        const d = new DetailsBuilder();
        for (const [h, r] of c.hosts) d.add('hosts', h).add('keychains', r.keychain);
        d.fact('subject', c.subject).fact('certKind', c.certKind).fact('teamId', c.teamId).fact('notAfter', toIso(c.notAfter)).fact('daysLeft', days).fact('resolution', why);
        return d.build();
      },
    );
  }
}
