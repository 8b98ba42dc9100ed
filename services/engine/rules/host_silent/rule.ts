/**
 * host_silent{region, host}: fires when the host's last heartbeat is older than silentAfter (default 15 min; the
 * daemon sends one every minute), at exactly last heartbeat + silentAfter; resolves at its next heartbeat. Live,
 * the region's clock follows the wall clock, so silence fires while nothing arrives. A host silent for forgetAfter
 * (default 3 days) is forgotten: decommissioned, the alert resolves saying so.
 *
 * The same logic keyed by region is region_silent{region} (no host of the region heartbeats): `SilenceRule`.
 */
import type { Region, SignEvent } from '../../../../schemas/events.js';
import { dampingOf } from '../../../../schemas/alert.js';
import { formatDuration } from '../../../platform/duration.js';
import type { Config } from './policy.js';
import { BaseRule, DetailsBuilder } from '../../rule.js';
import type { Transition } from '../../types.js';

/** Silence per host (host_silent) or per region (region_silent: the latest heartbeat of any of its hosts). */
export class SilenceRule extends BaseRule {
  /** key (host, or the region) → time of its latest heartbeat */
  readonly last = new Map<string, number>();
  private readonly changed = new Set<string>();

  constructor(
    alert: string,
    region: Region,
    private readonly cfg: Config,
    private readonly by: 'host' | 'region',
  ) {
    super(alert, region, cfg.severity, dampingOf(cfg));
  }

  observe(event: SignEvent, ts: number): void {
    if (event.type !== 'heartbeat') return;
    const key = this.by === 'host' ? event.host : event.region;
    if ((this.last.get(key) ?? -Infinity) >= ts) return;
    this.last.set(key, ts);
    this.changed.add(key);
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
    for (const key of [...this.changed].sort()) {
      const ts = this.last.get(key);
      if (ts === undefined) continue;
      const forgotten = t >= ts + this.cfg.forgetAfter;
      const silent = !forgotten && t >= ts + this.cfg.silentAfter;
      const secs = Math.round((t - ts) / 1000);
      const who = this.by === 'host' ? `${this.region}/${key}` : `${this.region}: no host of the region`;
      this.set(
        out,
        t,
        this.by === 'host' ? { region: this.region, host: key } : { region: this.region },
        silent,
        secs,
        this.cfg.silentAfter / 1000,
        (s) =>
          s === 'firing'
            ? `${who}: no heartbeat for ${formatDuration(this.cfg.silentAfter)} (last ${new Date(ts).toISOString()}): ${this.by === 'host' ? 'the agent or the host is down' : 'the region is down or cut off from Kafka'}`
            : forgotten
              ? `${who}: silent for ${formatDuration(this.cfg.forgetAfter)}: forgotten (decommissioned?)`
              : `${this.region}${this.by === 'host' ? `/${key}` : ''}: heartbeats again`,
        () => (this.by === 'host' ? new DetailsBuilder().add('hosts', key).build() : new DetailsBuilder().build()),
      );
      if (forgotten) this.last.delete(key);
    }
    this.changed.clear();
  }
}

export class HostSilent extends SilenceRule {
  constructor(region: Region, cfg: Config) {
    super('host_silent', region, cfg, 'host');
  }
}
