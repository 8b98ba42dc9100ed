/**
 * notary_our_failures{region}: more than `threshold` notarization submissions failed on our side in the trailing
 * window: class auth (bad or expired credentials, a non app-specific password) or keychain (the notarytool profile
 * could not be read: a locked keychain, or the credentials stored in another keychain file). These are never retried
 * (retrying would hide an unlock problem); the keychain ones also count toward codesign_keychain_failures.
 */
import type { NotarizeEvent, Region, SignEvent } from '../../../../schemas/events.js';
import { dampingOf } from '../../../../schemas/alert.js';
import { formatDuration } from '../../../platform/duration.js';
import type { Config } from './policy.js';
import { WindowedRule } from '../../rule.js';
import type { Transition } from '../../types.js';

const OURS = new Set(['auth', 'keychain']);

export class NotaryOurFailures extends WindowedRule<NotarizeEvent> {
  constructor(
    region: Region,
    private readonly cfg: Config,
  ) {
    super('notary_our_failures', region, cfg.severity, cfg.window, undefined, dampingOf(cfg));
  }

  protected accepts(event: SignEvent): event is NotarizeEvent {
    return event.type === 'notarize' && event.outcome === 'error' && event.error !== undefined && OURS.has(event.error.class);
  }

  get count(): number {
    return this.window.count;
  }

  protected evaluate(t: number, out: Transition[]): void {
    this.window.moveTo(t);
    const n = this.window.count;
    const w = formatDuration(this.cfg.window);
    this.reportCount(
      t,
      out,
      n,
      this.cfg.threshold,
      (s) =>
        s === 'firing'
          ? `${this.region}: ${n} notarization submission(s) failed on our side (credentials or keychain) in the trailing ${w}: fix the notarytool profile`
          : `${this.region}: no notarization failure of ours beyond ${this.cfg.threshold} in the trailing ${w}`,
      (d, e) => d.add('hosts', e.host).add('eventIds', e.id).add('correlationIds', e.correlationId).add('errorCodes', e.error?.code ?? e.error?.class),
    );
  }
}
