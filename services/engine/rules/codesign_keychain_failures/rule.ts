/**
 * codesign_keychain_failures{region}: fires when the number of signing failures with error class `keychain` in the
 * trailing window (t − window, t] is > threshold (the third failure fires it, at its own time); resolves at the
 * first instant the count is ≤ threshold again (oldest counted failure + window).
 * Counted: codesign / productsign calls except checks (operation `verify` / `display`: a failed `codesign --verify`
 * is not a signing failure) and notarytool submissions that failed on the keychain (its credentials could not be read).
 */
import type { CodesignEvent, NotarizeEvent, Region, SignEvent } from '../../../../schemas/events.js';
import { formatDuration } from '../../../platform/duration.js';
import { dampingOf } from '../../../../schemas/alert.js';
import { freezes, type Config } from './policy.js';
import { DetailsBuilder, WindowedRule } from '../../rule.js';
import type { Transition } from '../../types.js';

type Counted = CodesignEvent | NotarizeEvent;

export class KeychainFailures extends WindowedRule<Counted> {
  private readonly labels: Record<string, string>;
  private readonly words: string;

  constructor(
    region: Region,
    private readonly cfg: Config,
  ) {
    super('codesign_keychain_failures', region, cfg.severity, cfg.window, undefined, dampingOf(cfg));
    this.labels = { region };
    this.words = `in the trailing ${formatDuration(cfg.window)}`;
  }

  protected accepts(event: SignEvent): event is Counted {
    if (event.type === 'codesign') return event.outcome === 'fail' && event.error?.class === 'keychain' && event.operation !== 'verify' && event.operation !== 'display';
    return event.type === 'notarize' && event.outcome === 'error' && event.error?.class === 'keychain';
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
          ? `${this.region}: ${n} codesign keychain failures ${this.words} (> ${threshold})${freezes(this.cfg) ? '; releases frozen' : ''}`
          : `${this.region}: codesign keychain failures back to ${n} ${this.words} (≤ ${threshold})`,
      () => {
        const d = new DetailsBuilder();
        for (const e of this.window.entries()) {
          d.add('hosts', e.host).add('errorCodes', e.error?.code).add('correlationIds', e.correlationId).add('eventIds', e.id);
          if (e.type === 'codesign') {
            d.add('keychains', e.keychain);
            for (const p of e.partitionIds) d.add('partitionIds', p);
          }
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