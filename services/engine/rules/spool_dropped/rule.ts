/**
 * spool_dropped{region, host}: the agent's durable spool was full and dropped events (they never reached Kafka).
 * Heartbeats carry `spoolDropped`, the host's total of dropped events (kept across agent restarts). The alert fires
 * at the heartbeat that shows a higher total than the host's previous one (or a first heartbeat with a total > 0)
 * and keeps firing for holdFor after the last increase; value: the events dropped in those increases.
 */
import type { HeartbeatEvent, Region, SignEvent } from '../../../../schemas/events.js';
import { dampingOf } from '../../../../schemas/alert.js';
import { formatDuration } from '../../../platform/duration.js';
import type { Config } from './policy.js';
import { BaseRule, DetailsBuilder } from '../../rule.js';
import type { Transition } from '../../types.js';

interface HostDrops {
  ts: number;
  total: number;
  /** Until when the last increase holds the alert, and how many were dropped since it began. */
  until: number;
  dropped: number;
}

export class SpoolDropped extends BaseRule {
  readonly hosts = new Map<string, HostDrops>();
  private readonly changed = new Set<string>();

  constructor(
    region: Region,
    private readonly cfg: Config,
  ) {
    super('spool_dropped', region, cfg.severity, dampingOf(cfg));
  }

  observe(event: SignEvent, ts: number): void {
    if (event.type !== 'heartbeat') return;
    const e: HeartbeatEvent = event;
    const total = e.spoolDropped ?? 0;
    const cur = this.hosts.get(e.host);
    if (cur && cur.ts > ts) return;
    // the previous total counts only from a heartbeat less than forgetAfter before (whether or not it was forgotten yet)
    const recent = cur !== undefined && ts - cur.ts < this.cfg.forgetAfter;
    const prev = recent ? cur.total : 0;
    const holding = recent && ts < cur.until;
    if (total > prev) {
      this.hosts.set(e.host, { ts, total, until: ts + this.cfg.holdFor, dropped: (holding ? cur.dropped : 0) + (total - prev) });
    } else {
      // the same total, or lower (the agent's data dir was reset): no new loss
      this.hosts.set(e.host, { ts, total, until: recent ? cur.until : -Infinity, dropped: holding ? cur.dropped : 0 });
    }
    this.changed.add(e.host);
    this.dirty = true;
  }

  protected nextChange(): number {
    let next = Infinity;
    for (const h of this.hosts.values()) {
      for (const b of [h.until, h.ts + this.cfg.forgetAfter]) if (b > this.pos && b < next) next = b;
    }
    return next;
  }

  protected evaluate(t: number, out: Transition[]): void {
    for (const [host, h] of this.hosts) if (t >= h.until || t >= h.ts + this.cfg.forgetAfter) this.changed.add(host);
    for (const host of [...this.changed].sort()) {
      const h = this.hosts.get(host);
      if (!h) continue;
      const fire = t < h.until;
      this.set(
        out,
        t,
        { region: this.region, host },
        fire,
        h.dropped,
        0,
        (s) =>
          s === 'firing'
            ? `${this.region}/${host}: the agent's spool was full and dropped ${h.dropped} event(s) (${h.total} in all): they never reached Kafka`
            : `${this.region}/${host}: no event dropped in the trailing ${formatDuration(this.cfg.holdFor)}`,
        () => new DetailsBuilder().add('hosts', host).build(),
      );
      if (t >= h.ts + this.cfg.forgetAfter) this.hosts.delete(host);
    }
    this.changed.clear();
  }
}
