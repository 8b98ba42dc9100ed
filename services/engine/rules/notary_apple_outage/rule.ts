/**
 * notary_apple_outage{region}: more than `threshold` Apple-side failed notarization attempts (class apple_api: HTTP
 * 429/5xx; network) in the trailing window, counting the failed attempts inside submissions that later succeeded
 * (`attemptErrors`): retries with backoff must not hide an outage. Fires at the instant the count passes the
 * threshold; resolves when it drops back (the oldest counted submission + window).
 */
import type { NotarizeEvent, Region, SignEvent } from '../../../../schemas/events.js';
import { dampingOf } from '../../../../schemas/alert.js';
import { formatDuration } from '../../../platform/duration.js';
import type { Config } from './policy.js';
import { WindowedRule } from '../../rule.js';
import type { Transition } from '../../types.js';

const APPLE_SIDE = new Set(['apple_api', 'network']);

/** Apple-side failed attempts of one submission: its failed retries plus its final error when Apple-side. */
export function appleSideFailures(e: NotarizeEvent): number {
  let n = 0;
  for (const a of e.attemptErrors ?? []) if (APPLE_SIDE.has(a.class)) n++;
  if (e.outcome === 'error' && e.error && APPLE_SIDE.has(e.error.class)) n++;
  return n;
}

export class NotaryAppleOutage extends WindowedRule<NotarizeEvent> {
  /** Apple-side failed attempts of the submissions inside the window (maintained as they enter and leave). */
  private readonly total: { n: number };

  constructor(
    region: Region,
    private readonly cfg: Config,
  ) {
    const total = { n: 0 };
    super('notary_apple_outage', region, cfg.severity, cfg.window, { enter: (e) => (total.n += appleSideFailures(e)), leave: (e) => (total.n -= appleSideFailures(e)) }, dampingOf(cfg));
    this.total = total;
  }

  protected accepts(event: SignEvent): event is NotarizeEvent {
    return event.type === 'notarize' && appleSideFailures(event) > 0;
  }

  get failures(): number {
    return this.total.n;
  }

  protected evaluate(t: number, out: Transition[]): void {
    this.window.moveTo(t);
    const n = this.total.n;
    const w = formatDuration(this.cfg.window);
    this.reportCount(
      t,
      out,
      n,
      this.cfg.threshold,
      (s) =>
        s === 'firing'
          ? `${this.region}: ${n} notarization attempts failed on Apple's side (HTTP 429/5xx, network) in the trailing ${w} (> ${this.cfg.threshold}): an Apple API outage, not ours`
          : `${this.region}: Apple-side notarization failures back to ${n} in the trailing ${w}`,
      (d, e) => {
        d.add('hosts', e.host).add('eventIds', e.id).add('correlationIds', e.correlationId);
        for (const a of e.attemptErrors ?? []) d.add('errorCodes', a.code ?? a.class);
        d.add('errorCodes', e.error?.code);
      },
    );
  }
}
