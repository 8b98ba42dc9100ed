/**
 * host_silent{region, host}: fires when the host's last heartbeat is older than silentAfter (default 15 min; the
 * daemon sends one every minute), at exactly last heartbeat + silentAfter; resolves at its next heartbeat. Live,
 * the region's clock follows the wall clock, so silence fires while nothing arrives. A host silent for forgetAfter
 * (default 3 days) is forgotten: decommissioned, the alert resolves saying so.
 */
import type { Region, SignEvent } from '../../../../schemas/events.js';
import { dampingOf } from '../../../../schemas/alert.js';
import { formatDuration } from '../../../platform/duration.js';
import type { Config } from './policy.js';
import { BaseRule, DetailsBuilder } from '../../rule.js';
import type { Transition } from '../../types.js';

export class HostSilent extends BaseRule {
  /** host → time of its latest heartbeat */
  readonly last = new Map<string, number>();
  private readonly changed = new Set<string>();

  constructor(
    region: Region,
    private readonly cfg: Config,
  ) {
    super('host_silent', region, cfg.severity, dampingOf(cfg));
  }

  observe(event: SignEvent, ts: number): void {
    if (event.type !== 'heartbeat') return;
    if ((this.last.get(event.host) ?? -Infinity) >= ts) return;
    this.last.set(event.host, ts);
    this.changed.add(event.host);
    this.dirty = true;
  }

  protected nextChange(): number {
    let next = Infinity;
    for (const ts of this.last.values()) {
      for (const b of [ts + this.cfg.silentAfter, ts + this.cfg.forgetAfter]) if (b > this.pos && b < next) next = b;
    }
    return next;
  }

  protected evaluate(t: number, out: Transition[]): void {
    for (const [host, ts] of this.last) if (t >= ts + this.cfg.silentAfter) this.changed.add(host);
    for (const host of [...this.changed].sort()) {
      const ts = this.last.get(host);
      if (ts === undefined) continue;
      const forgotten = t >= ts + this.cfg.forgetAfter;
      const silent = !forgotten && t >= ts + this.cfg.silentAfter;
      const secs = Math.round((t - ts) / 1000);
      this.set(
        out,
        t,
        { region: this.region, host },
        silent,
        secs,
        this.cfg.silentAfter / 1000,
        (s) =>
          s === 'firing'
            ? `${this.region}/${host}: no heartbeat for ${formatDuration(this.cfg.silentAfter)} (last ${new Date(ts).toISOString()}): the agent or the host is down`
            : forgotten
              ? `${this.region}/${host}: silent for ${formatDuration(this.cfg.forgetAfter)}: forgotten (decommissioned?)`
              : `${this.region}/${host}: heartbeats again`,
        () => new DetailsBuilder().add('hosts', host).build(),
      );
      if (forgotten) this.last.delete(host);
    }
    this.changed.clear();
  }
}
