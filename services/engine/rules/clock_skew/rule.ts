/**
 * clock_skew{region, host}: fires when the host's latest sntp probe shows |offset| > maxOffsetMs (skew breaks
 * notarization timestamps); resolves on the next probe within the limit.
 */
import type { Region, SignEvent } from '../../../../schemas/events.js';
import type { Config } from './policy.js';
import { BaseRule, DetailsBuilder } from '../../rule.js';
import type { Transition } from '../../types.js';

export class ClockSkew extends BaseRule {
  readonly latest = new Map<string, { ts: number; offsetMs: number; server: string }>();
  private readonly changed = new Set<string>();

  constructor(
    region: Region,
    private readonly cfg: Config,
  ) {
    super('clock_skew', region, cfg.severity);
  }

  observe(event: SignEvent, ts: number): void {
    if (event.type !== 'clock') return;
    const cur = this.latest.get(event.host);
    if (cur && cur.ts > ts) return;
    this.latest.set(event.host, { ts, offsetMs: event.offsetMs, server: event.server });
    this.changed.add(event.host);
    this.dirty = true;
  }

  protected nextChange(): number {
    return Infinity;
  }

  protected evaluate(t: number, out: Transition[]): void {
    const max = this.cfg.maxOffsetMs;
    for (const host of [...this.changed].sort()) {
      const p = this.latest.get(host)!;
      this.set(
        out,
        t,
        { region: this.region, host },
        Math.abs(p.offsetMs) > max,
        p.offsetMs,
        max,
        (s) =>
          s === 'firing'
            ? `${this.region}/${host}: clock off by ${p.offsetMs} ms against ${p.server} (limit ±${max} ms): notarization timestamps at risk`
            : `${this.region}/${host}: clock back within ±${max} ms (${p.offsetMs} ms)`,
        () => new DetailsBuilder().add('hosts', host).build(),
      );
    }
    this.changed.clear();
  }
}
