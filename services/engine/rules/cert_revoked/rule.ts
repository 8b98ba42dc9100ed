/**
 * cert_revoked{region, sha1}: a revoked signing certificate is still in the region's keychains. Evidence of the
 * revocation: a scan (`security find-identity` marks it CSSMERR_TP_CERT_REVOKED: a `cert` event with revoked: true)
 * or a signing call that failed with CSSMERR_TP_CERT_REVOKED naming the identity. Presence as for cert_expiry
 * (services/engine/cert-presence.ts): resolves when it left every keychain that had it, or when no host has it any
 * more and a replacement (same kind and team, not revoked) is present; never on silence alone. Critical: it pages
 * and freezes the region's releases.
 */
import type { Region, SignEvent } from '../../../../schemas/events.js';
import { dampingOf } from '../../../../schemas/alert.js';
import type { Config } from './policy.js';
import { CertPresence, type TrackedCert } from '../../cert-presence.js';
import { BaseRule, DetailsBuilder } from '../../rule.js';
import { toIso } from '../../time.js';
import type { Transition } from '../../types.js';

export const REVOKED_CODE = 'CSSMERR_TP_CERT_REVOKED';

export class CertRevoked extends BaseRule {
  readonly presence: CertPresence;
  private readonly uses = new Map<string, Set<string>>(); // sha1 → correlation ids of failed signing calls

  constructor(
    region: Region,
    private readonly cfg: Config,
  ) {
    super('cert_revoked', region, cfg.severity, dampingOf(cfg));
    this.presence = new CertPresence(cfg.staleAfter, cfg.forgetAfter);
  }

  observe(event: SignEvent, ts: number): void {
    if (event.type === 'cert') {
      this.presence.report(event, ts);
    } else if (event.type === 'heartbeat') {
      if (!this.presence.inventoryOf(event, ts)) return;
    } else if (event.type === 'codesign' && event.outcome === 'fail' && event.error?.code === REVOKED_CODE && event.identity) {
      this.presence.report({ sha1: event.identity, host: event.host, keychain: event.keychain, revoked: true }, ts);
      const s = this.uses.get(event.identity) ?? new Set<string>();
      if (event.correlationId && s.size < 20) s.add(event.correlationId);
      this.uses.set(event.identity, s);
    } else return;
    this.dirty = true;
  }

  protected nextChange(): number {
    return this.presence.nextChange(this.pos);
  }

  private resolution(c: TrackedCert, t: number): string | undefined {
    if (c.removed) return 'left every keychain that had it';
    if (this.presence.present(c, t).length) return undefined;
    const r = this.presence.replacement(c);
    return r ? `replaced by ${r.sha1.slice(0, 8)}` : undefined;
  }

  protected evaluate(t: number, out: Transition[]): void {
    for (const c of this.presence.forget(t)) {
      this.uses.delete(c.sha1);
      this.report(out, t, c, false, 'forgotten: no host reported it for the retention period');
    }
    for (const c of [...this.presence.certs.values()]) {
      if (!c.revoked) continue;
      const why = this.resolution(c, t);
      this.report(out, t, c, why === undefined, why);
    }
  }

  /** Revoked certificates present at the rule's clock, with their hosts (for the gauge). */
  *revokedPresent(): Iterable<TrackedCert> {
    for (const c of this.presence.certs.values()) if (c.revoked && this.resolution(c, this.pos) === undefined) yield c;
  }

  private report(out: Transition[], t: number, c: TrackedCert, fire: boolean, why: string | undefined): void {
    const what = `${this.region}: signing certificate "${c.subject}" (${c.sha1.slice(0, 8)}${c.teamId ? `, team ${c.teamId}` : ''})`;
    this.set(
      out,
      t,
      { region: this.region, sha1: c.sha1 },
      fire,
      this.presence.present(c, t).length,
      0,
      (s) => (s === 'firing' ? `${what} is REVOKED and still in the keychains: signing with it fails; releases frozen until it is removed or replaced` : `${what}: ${why ?? 'no longer revoked'}`),
      () => {
        const d = new DetailsBuilder().add('errorCodes', REVOKED_CODE);
        for (const [h, r] of c.hosts) d.add('hosts', h).add('keychains', r.keychain);
        for (const id of this.uses.get(c.sha1) ?? []) d.add('correlationIds', id);
        d.fact('subject', c.subject).fact('certKind', c.certKind).fact('teamId', c.teamId).fact('notAfter', Number.isFinite(c.notAfter) ? toIso(c.notAfter) : undefined).fact('resolution', why);
        return d.build();
      },
    );
  }
}
