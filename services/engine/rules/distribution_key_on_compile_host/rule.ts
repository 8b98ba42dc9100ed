/**
 * distribution_key_on_compile_host{region, host}: distribution keys must not exist on compile-pool hosts. Fires while
 * a compile-pool host reported (within staleAfter) a certificate whose kind starts with one of the policy's
 * distribution kinds; value = number of such certificates; resolves when none was reported within staleAfter.
 */
import type { Region, SignEvent } from '../../../../schemas/events.js';
import { dampingOf } from '../../../../schemas/alert.js';
import type { Config } from './policy.js';
import { BaseRule, DetailsBuilder } from '../../rule.js';
import type { Transition } from '../../types.js';

export class DistributionKey extends BaseRule {
  /** host → sha1 → { lastSeen, subject, keychain } */
  private readonly hosts = new Map<string, Map<string, { ts: number; subject: string; keychain: string }>>();
  private readonly changed = new Set<string>();

  constructor(
    region: Region,
    private readonly cfg: Config,
  ) {
    super('distribution_key_on_compile_host', region, cfg.severity, dampingOf(cfg));
  }

  observe(event: SignEvent, ts: number): void {
    if (event.type !== 'cert' || event.pool !== 'compile') return;
    if (!this.cfg.kinds.some((k) => event.certKind.startsWith(k))) return;
    let m = this.hosts.get(event.host);
    if (!m) {
      m = new Map<string, { ts: number; subject: string; keychain: string }>();
      this.hosts.set(event.host, m);
    }
    const cur = m.get(event.sha1);
    if (!cur || cur.ts <= ts) m.set(event.sha1, { ts, subject: event.subject, keychain: event.keychain });
    this.changed.add(event.host);
    this.dirty = true;
  }

  protected nextChange(): number {
    let next = Infinity;
    for (const m of this.hosts.values()) {
      for (const c of m.values()) {
        const stale = c.ts + this.cfg.staleAfter;
        if (stale > this.pos && stale < next) next = stale;
      }
    }
    return next;
  }

  protected evaluate(t: number, out: Transition[]): void {
    for (const [host, m] of this.hosts) {
      for (const [sha1, c] of m) {
        if (t >= c.ts + this.cfg.staleAfter) {
          m.delete(sha1);
          this.changed.add(host);
        }
      }
    }
    for (const host of [...this.changed].sort()) {
      const m = this.hosts.get(host);
      const n = m?.size ?? 0;
      this.set(
        out,
        t,
        { region: this.region, host },
        n > 0,
        n,
        0,
        (s) =>
          s === 'firing'
            ? `${this.region}/${host}: ${n} distribution identit${n === 1 ? 'y' : 'ies'} on a compile-pool host (${[...(m?.values() ?? [])].map((c) => c.subject).join('; ')})`
            : `${this.region}/${host}: no distribution identity reported on this compile-pool host any more`,
        () => {
          const d = new DetailsBuilder().add('hosts', host);
          for (const c of m?.values() ?? []) d.add('keychains', c.keychain);
          return d.build();
        },
      );
      if (n === 0) this.hosts.delete(host);
    }
    this.changed.clear();
  }
}
