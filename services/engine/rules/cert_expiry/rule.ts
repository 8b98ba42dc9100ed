/**
 * cert_expiry{region, sha1}: fires when notAfter − t < days for a certificate some host of the region reported in the
 * last staleAfter; resolves when it is replaced (no host reports it any more: lastSeen + staleAfter) or notAfter moves.
 * Breakpoints: notAfter − days + 1 ms (first instant of "< days") and lastSeen + staleAfter.
 * Per region so that results do not depend on how regions are spread over partitions; tickets are keyed by sha1 alone.
 */
import type { Region, SignEvent } from '../../../../schemas/events.js';
import { dampingOf } from '../../../../schemas/alert.js';
import type { Config } from './policy.js';
import { BaseRule, DetailsBuilder, round3 } from '../../rule.js';
import { DAY, toIso, toMs } from '../../time.js';
import type { Transition } from '../../types.js';

interface Cert {
  sha1: string;
  subject: string;
  certKind: string;
  teamId: string | undefined;
  notAfter: number;
  lastSeen: number;
  hosts: Map<string, string>; // host → keychain
}

export class CertExpiry extends BaseRule {
  readonly certs = new Map<string, Cert>();
  private readonly horizon: number;

  constructor(
    region: Region,
    private readonly cfg: Config,
  ) {
    super('cert_expiry', region, cfg.severity, dampingOf(cfg));
    this.horizon = cfg.days * DAY;
  }

  observe(event: SignEvent, ts: number): void {
    if (event.type !== 'cert') return;
    let c = this.certs.get(event.sha1);
    if (!c) {
      c = { sha1: event.sha1, subject: event.subject, certKind: event.certKind, teamId: event.teamId, notAfter: toMs(event.notAfter), lastSeen: ts, hosts: new Map() };
      this.certs.set(event.sha1, c);
    } else if (ts >= c.lastSeen) {
      c.lastSeen = ts;
      c.notAfter = toMs(event.notAfter);
      c.subject = event.subject;
    }
    c.hosts.set(event.host, event.keychain);
    this.dirty = true;
  }

  protected nextChange(): number {
    let next = Infinity;
    const pos = this.pos;
    for (const c of this.certs.values()) {
      const enter = c.notAfter - this.horizon + 1;
      if (enter > pos && enter < next) next = enter;
      const stale = c.lastSeen + this.cfg.staleAfter;
      if (stale > pos && stale < next) next = stale;
    }
    return next;
  }

  daysToExpiry(c: Cert, t: number): number {
    return round3((c.notAfter - t) / DAY);
  }

  protected evaluate(t: number, out: Transition[]): void {
    const threshold = this.cfg.days;
    for (const c of [...this.certs.values()]) {
      const live = t < c.lastSeen + this.cfg.staleAfter;
      const fire = live && c.notAfter - t < this.horizon;
      const days = this.daysToExpiry(c, t);
      this.set(
        out,
        t,
        { region: this.region, sha1: c.sha1 },
        fire,
        days,
        threshold,
        (s) =>
          s === 'firing'
            ? `${this.region}: certificate "${c.subject}" (${c.sha1.slice(0, 8)}) expires ${toIso(c.notAfter)}, in ${days} days (< ${threshold}): rotate it`
            : live
              ? `${this.region}: certificate "${c.subject}" (${c.sha1.slice(0, 8)}) now expires ${toIso(c.notAfter)}, in ${days} days`
              : `${this.region}: certificate "${c.subject}" (${c.sha1.slice(0, 8)}) no longer reported by any host (replaced)`,
        () => {
          const d = new DetailsBuilder();
          for (const [h, k] of c.hosts) d.add('hosts', h).add('keychains', k);
          return d.build();
        },
      );
      if (!live) this.certs.delete(c.sha1);
    }
  }
}