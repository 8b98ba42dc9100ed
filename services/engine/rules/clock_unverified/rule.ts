/**
 * clock_unverified{region, host}: the host's latest clock probes all failed (sntp timed out, DNS failed, a
 * Kiss-of-death, clock select failed: a `clock` event with outcome `fail`), so its clock is not known to be right.
 * The condition is "the latest probe failed"; the policy's `for` (default 1 h) makes it fire only when failures
 * persist. Resolves at the next successful probe. Value: failed probes in a row.
 */
import type { Region, SignEvent } from '../../../../schemas/events.js';
import { dampingOf } from '../../../../schemas/alert.js';
import type { Config } from './policy.js';
import { BaseRule, DetailsBuilder } from '../../rule.js';
import type { Transition } from '../../types.js';

interface Probe {
  ts: number;
  failed: boolean;
  failures: number;
  reason: string | undefined;
  server: string;
}

export class ClockUnverified extends BaseRule {
  private readonly hosts = new Map<string, Probe>();
  private readonly changed = new Set<string>();

  constructor(
    region: Region,
    private readonly cfg: Config,
  ) {
    super('clock_unverified', region, cfg.severity, dampingOf(cfg));
  }

  observe(event: SignEvent, ts: number): void {
    if (event.type !== 'clock') return;
    const cur = this.hosts.get(event.host);
    if (cur && cur.ts > ts) return;
    const failed = event.outcome === 'fail' || event.offsetMs === undefined;
    // a run of failures continues only from a probe less than forgetAfter before (whether or not it was forgotten yet)
    const run = cur !== undefined && cur.failed && ts - cur.ts < this.cfg.forgetAfter ? cur.failures : 0;
    this.hosts.set(event.host, { ts, failed, failures: failed ? run + 1 : 0, reason: event.reason, server: event.server });
    this.changed.add(event.host);
    this.dirty = true;
  }

  protected nextChange(): number {
    let next = Infinity;
    for (const p of this.hosts.values()) {
      const forget = p.ts + this.cfg.forgetAfter;
      if (forget > this.pos && forget < next) next = forget;
    }
    return next;
  }

  protected evaluate(t: number, out: Transition[]): void {
    for (const [host, p] of this.hosts) {
      if (t >= p.ts + this.cfg.forgetAfter) {
        this.hosts.delete(host);
        this.changed.add(host);
      }
    }
    for (const host of [...this.changed].sort()) {
      const p = this.hosts.get(host);
      this.set(
        out,
        t,
        { region: this.region, host },
        p?.failed === true,
        p?.failures ?? 0,
        0,
        (s) =>
          s === 'firing'
            ? `${this.region}/${host}: ${p?.failures ?? 0} clock probes in a row failed against ${p?.server ?? '?'} (${p?.reason ?? 'no offset'}): the clock is not verified`
            : `${this.region}/${host}: clock probe succeeds again`,
        () => new DetailsBuilder().add('hosts', host).add('errorCodes', p?.reason?.slice(0, 120)).build(),
      );
    }
    this.changed.clear();
  }

  /** Failed probes in a row, per host (for the gauge). */
  *failuresByHost(): Iterable<[string, number]> {
    for (const [host, p] of this.hosts) yield [host, p.failures];
  }
}
