/**
 * codesign_keychain_failures{region}: fires when the number of codesign failures with error class `keychain` in the
 * trailing window (t − window, t] is > threshold (the third failure fires it, at its own time); resolves at the
 * first instant the count is ≤ threshold again (oldest counted failure + window).
 */
import type { CodesignEvent, Region, SignEvent } from '../../../../schemas/events.js';
import { dampingOf } from '../../../../schemas/alert.js';
import type { Config } from './policy.js';
import { DetailsBuilder, WindowedRule } from '../../rule.js';
import type { Transition } from '../../types.js';

export class KeychainFailures extends WindowedRule<CodesignEvent> {
  private readonly labels: Record<string, string>;

  constructor(
    region: Region,
    private readonly cfg: Config,
  ) {
    super('codesign_keychain_failures', region, cfg.severity, cfg.window, undefined, dampingOf(cfg));
    this.labels = { region };
  }

  protected accepts(event: SignEvent): event is CodesignEvent {
    return event.type === 'codesign' && event.outcome === 'fail' && event.error?.class === 'keychain';
  }

  protected evaluate(t: number, out: Transition[]): void {
    this.window.moveTo(t);
    const n = this.window.count;
    const threshold = this.cfg.threshold;
    this.set(
      out,
      t,
      this.labels,
      n > threshold,
      n,
      threshold,
      (s) =>
        s === 'firing'
          ? `${this.region}: ${n} codesign keychain failures in the trailing hour (> ${threshold}); releases frozen`
          : `${this.region}: codesign keychain failures back to ${n} in the trailing hour (≤ ${threshold})`,
      () => {
        const d = new DetailsBuilder();
        for (const e of this.window.entries()) {
          d.add('hosts', e.host).add('keychains', e.keychain).add('errorCodes', e.error?.code);
          d.add('correlationIds', e.correlationId).add('eventIds', e.id);
          for (const p of e.partitionIds) d.add('partitionIds', p);
        }
        return d.build();
      },
    );
  }

  /** Trailing-window count at the rule's clock (for gauges). */
  get count(): number {
    return this.window.count;
  }
}