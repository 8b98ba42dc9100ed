/**
 * acl_outside_window{region, host}: a `security set-key-partition-list` (or other ACL change) outside a declared
 * maintenance window is suspicious. Fires while the host has at least one undeclared ACL change in the trailing
 * holdFor; resolves holdFor after the last one.
 */
import type { AclEvent, Region, SignEvent } from '../../../schemas/events.js';
import type { Policy } from '../../../schemas/policy.js';
import { BaseRule, DetailsBuilder, type RuleFactory } from '../rule.js';
import { SlidingWindow } from '../window.js';
import type { Transition } from '../types.js';

class AclOutsideWindow extends BaseRule {
  private readonly counts = new Map<string, number>();
  private readonly changed = new Set<string>();
  private readonly window: SlidingWindow<AclEvent>;

  constructor(
    region: Region,
    private readonly cfg: Policy['alerts']['acl_outside_window'],
  ) {
    super('acl_outside_window', region, cfg.severity);
    const bump = (e: AclEvent, d: number) => {
      this.counts.set(e.host, (this.counts.get(e.host) ?? 0) + d);
      this.changed.add(e.host);
    };
    this.window = new SlidingWindow<AclEvent>(cfg.holdFor, { enter: (e) => bump(e, 1), leave: (e) => bump(e, -1) });
  }

  observe(event: SignEvent, ts: number): void {
    if (event.type !== 'acl' || event.declared) return;
    this.window.insert(ts, event);
    this.dirty = true;
  }

  protected nextChange(): number {
    return this.window.nextChange();
  }

  protected override seek(t: number): void {
    this.window.moveTo(t);
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

export const aclOutsideWindow: RuleFactory = {
  alert: 'acl_outside_window',
  types: ['acl'],
  create: (region, policy) => new AclOutsideWindow(region, policy.alerts.acl_outside_window),
};
