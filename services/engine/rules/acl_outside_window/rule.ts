/**
 * acl_outside_window{region, host}: a `security set-key-partition-list` (or other ACL change) outside a declared
 * maintenance window is suspicious. Fires while the host has at least one undeclared ACL change in the trailing
 * holdFor; resolves holdFor after the last one.
 */
import type { AclEvent, Region, SignEvent } from '../../../../schemas/events.js';
import { dampingOf } from '../../../../schemas/alert.js';
import type { Config } from './policy.js';
import { DetailsBuilder, WindowedRule } from '../../rule.js';
import type { Transition } from '../../types.js';

export class AclOutsideWindow extends WindowedRule<AclEvent> {
  private readonly counts: Map<string, number>;
  private readonly changed: Set<string>;

  constructor(region: Region, cfg: Config) {
    const counts = new Map<string, number>();
    const changed = new Set<string>();
    const bump = (e: AclEvent, d: number) => {
      counts.set(e.host, (counts.get(e.host) ?? 0) + d);
      changed.add(e.host);
    };
    super('acl_outside_window', region, cfg.severity, cfg.holdFor, { enter: (e) => bump(e, 1), leave: (e) => bump(e, -1) }, dampingOf(cfg));
    this.counts = counts;
    this.changed = changed;
  }

  protected accepts(event: SignEvent): event is AclEvent {
    return event.type === 'acl' && !event.declared;
  }

  protected evaluate(t: number, out: Transition[]): void {
    this.window.moveTo(t);
    for (const host of [...this.changed].sort()) {
      const n = this.counts.get(host) ?? 0;
      this.set(
        out,
        t,
        { region: this.region, host },
        n > 0,
        n,
        0,
        (s) =>
          s === 'firing'
            ? `${this.region}/${host}: keychain ACL changed outside a declared maintenance window (set-key-partition-list)`
            : `${this.region}/${host}: no undeclared keychain ACL change in the trailing hold period`,
        () => {
          const d = new DetailsBuilder();
          for (const e of this.window.entries()) {
            if (e.host !== host) continue;
            d.add('hosts', e.host).add('keychains', e.keychain).add('errorCodes', e.command).add('eventIds', e.id).add('correlationIds', e.correlationId);
            for (const p of e.partitionIds) d.add('partitionIds', p);
          }
          return d.build();
        },
      );
      if (n === 0) this.counts.delete(host);
    }
    this.changed.clear();
  }
}
