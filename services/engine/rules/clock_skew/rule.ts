/**
 * clock_skew{region, host}: fires while the host's clock is evidently wrong:
 *   - its latest sntp probe shows |offset| > maxOffsetMs (skew breaks notarization timestamps), or
 *   - it sent an event stamped more than maxFutureSkew ahead of the event's reference time (a future_timestamp,
 *     rejected by the engine) within the trailing futureHold of the region's clock.
 * A host whose last successful probe is older than forgetAfter is forgotten (host_silent covers silent hosts).
 * Resolves at the first instant neither holds: the next probe within the limit, and futureHold after the last
 * future-stamped event (breakpoint: that event's region-clock instant + futureHold).
 */
import type { Region, SignEvent } from '../../../../schemas/events.js';
import { dampingOf } from '../../../../schemas/alert.js';
import type { Config } from './policy.js';
import { BaseRule, DetailsBuilder } from '../../rule.js';
import type { Transition } from '../../types.js';

interface FutureEvidence {
  /** Region-clock instant until which the evidence holds (exclusive). */
  until: number;
  /** The largest skew seen (event ts − reference time). */
  skewMs: number;
  eventIds: string[];
}

export class ClockSkew extends BaseRule {
  readonly latest = new Map<string, { ts: number; offsetMs: number; server: string }>();
  private readonly future = new Map<string, FutureEvidence>();
  private readonly changed = new Set<string>();

  constructor(
    region: Region,
    private readonly cfg: Config,
  ) {
    super('clock_skew', region, cfg.severity, dampingOf(cfg));
  }

  observe(event: SignEvent, ts: number): void {
    // a failed probe measures nothing (clock_unverified watches those)
    if (event.type !== 'clock' || event.offsetMs === undefined || event.outcome === 'fail') return;
    const cur = this.latest.get(event.host);
    if (cur && cur.ts > ts) return;
    this.latest.set(event.host, { ts, offsetMs: event.offsetMs, server: event.server });
    this.changed.add(event.host);
    this.dirty = true;
  }

  /** Evidence from a future-stamped event, observed at the rule's clock (it never moves the clock). */
  observeFuture(event: SignEvent, skewMs: number): void {
    const until = this.pos + this.cfg.futureHold;
    const cur = this.future.get(event.host);
    this.future.set(event.host, {
      until: cur ? Math.max(cur.until, until) : until,
      skewMs: cur && cur.until > this.pos ? Math.max(cur.skewMs, skewMs) : skewMs,
      eventIds: [...(cur && cur.until > this.pos ? cur.eventIds : []), event.id].slice(-20),
    });
    this.changed.add(event.host);
    this.dirty = true;
  }

  /** Per host, the offset that decides the alert: a live future-stamped skew, else the latest probe's offset. */
  *offsets(): Iterable<[string, number]> {
    const hosts = new Set([...this.latest.keys(), ...this.future.keys()]);
    for (const host of hosts) {
      const f = this.future.get(host);
      const p = this.latest.get(host);
      const probeBad = p !== undefined && Math.abs(p.offsetMs) > this.cfg.maxOffsetMs;
      if (f && f.until > this.pos && !probeBad) yield [host, f.skewMs];
      else if (p) yield [host, p.offsetMs];
    }
  }

  protected nextChange(): number {
    let next = Infinity;
    for (const f of this.future.values()) if (f.until > this.pos && f.until < next) next = f.until;
    for (const p of this.latest.values()) {
      const forget = p.ts + this.cfg.forgetAfter;
      if (forget > this.pos && forget < next) next = forget;
    }
    return next;
  }

  protected evaluate(t: number, out: Transition[]): void {
    const max = this.cfg.maxOffsetMs;
    for (const [host, f] of this.future) {
      if (f.until <= t) {
        this.future.delete(host);
        this.changed.add(host);
      }
    }
    // a host without a probe for forgetAfter is forgotten (host_silent watches hosts that stopped reporting)
    const forgotten = new Map<string, number>();
    for (const [host, p] of this.latest) {
      if (t >= p.ts + this.cfg.forgetAfter) {
        this.latest.delete(host);
        forgotten.set(host, p.offsetMs);
        this.changed.add(host);
      }
    }
    for (const host of [...this.changed].sort()) {
      const p = this.latest.get(host);
      const f = this.future.get(host);
      const probeBad = p !== undefined && Math.abs(p.offsetMs) > max;
      const fire = probeBad || f !== undefined;
      const value = probeBad ? p.offsetMs : f ? f.skewMs : (p?.offsetMs ?? forgotten.get(host) ?? 0);
      this.set(
        out,
        t,
        { region: this.region, host },
        fire,
        value,
        max,
        (s) =>
          s === 'resolved'
            ? `${this.region}/${host}: clock back within ±${max} ms${p ? ` (${p.offsetMs} ms)` : ''}, no future-stamped event in the trailing ${this.cfg.futureHold / 60_000} min`
            : probeBad
              ? `${this.region}/${host}: clock off by ${p.offsetMs} ms against ${p.server} (limit ±${max} ms): notarization timestamps at risk`
              : `${this.region}/${host}: sent events stamped ${Math.round(value / 1000)} s ahead of the broker's time (future_timestamp, dead-lettered): its clock is wrong`,
        () => {
          const d = new DetailsBuilder().add('hosts', host);
          if (f) {
            d.add('errorCodes', 'future_timestamp');
            for (const id of f.eventIds) d.add('eventIds', id);
          }
          return d.build();
        },
      );
      if (!p && !f) this.changed.delete(host);
    }
    this.changed.clear();
  }
}
