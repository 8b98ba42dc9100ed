/**
 * parity_drift{region, host}: every host of a region should run the same wrapper (sha256), the same keychain path,
 * the same keychain search order and the same team IDs. A host whose latest heartbeat (within staleAfter) differs
 * from the region's strict majority fingerprint fires; value = number of differing fields. With no strict majority
 * nothing fires (the region has no baseline to drift from).
 */
import type { HeartbeatEvent, Region, SignEvent } from '../../../../schemas/events.js';
import { dampingOf } from '../../../../schemas/alert.js';
import type { Config } from './policy.js';
import { BaseRule, DetailsBuilder } from '../../rule.js';
import type { Transition } from '../../types.js';

const FIELDS = ['wrapperSha256', 'keychain', 'searchList', 'teamIds'] as const;
type Field = (typeof FIELDS)[number];

function parts(e: HeartbeatEvent): Record<Field, string> {
  return {
    wrapperSha256: e.wrapperSha256,
    keychain: e.keychain ?? e.searchList[0] ?? '',
    searchList: e.searchList.join('\n'),
    teamIds: [...e.teamIds].sort().join(','),
  };
}

interface HostState {
  ts: number;
  parts: Record<Field, string>;
  fp: string;
}

export class ParityDrift extends BaseRule {
  private readonly hosts = new Map<string, HostState>();

  constructor(
    region: Region,
    private readonly cfg: Config,
  ) {
    super('parity_drift', region, cfg.severity, dampingOf(cfg));
  }

  observe(event: SignEvent, ts: number): void {
    if (event.type !== 'heartbeat') return;
    const cur = this.hosts.get(event.host);
    if (cur && cur.ts > ts) return;
    const p = parts(event);
    const fp = FIELDS.map((f) => p[f]).join('\u0000');
    if (cur && cur.fp === fp && ts < cur.ts + this.cfg.staleAfter) {
      // same fingerprint from an active host: only its staleness moves; the extra evaluation at the old stale
      // instant (cached breakpoint) finds nothing changed
      cur.ts = ts;
      return;
    }
    this.hosts.set(event.host, { ts, parts: p, fp });
    this.dirty = true;
  }

  protected nextChange(): number {
    let next = Infinity;
    for (const h of this.hosts.values()) {
      const stale = h.ts + this.cfg.staleAfter;
      if (stale > this.pos && stale < next) next = stale;
    }
    return next;
  }

  protected evaluate(t: number, out: Transition[]): void {
    const active: [string, HostState][] = [];
    for (const [host, h] of this.hosts) {
      if (t < h.ts + this.cfg.staleAfter) active.push([host, h]);
    }
    const votes = new Map<string, number>();
    for (const [, h] of active) votes.set(h.fp, (votes.get(h.fp) ?? 0) + 1);
    let majority: HostState | undefined;
    for (const [fp, n] of votes) {
      if (n * 2 > active.length) majority = active.find(([, h]) => h.fp === fp)![1];
    }
    const seen = new Set<string>();
    for (const [host, h] of active.sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      seen.add(host);
      const diff = majority ? FIELDS.filter((f) => h.parts[f] !== majority.parts[f]) : [];
      this.set(
        out,
        t,
        { region: this.region, host },
        diff.length > 0,
        diff.length,
        0,
        (s) =>
          s === 'firing'
            ? `${this.region}/${host}: configuration differs from the region's majority in ${diff.join(', ')}`
            : `${this.region}/${host}: configuration back in parity with the region`,
        () => new DetailsBuilder().add('hosts', host).add('keychains', h.parts.keychain).build(),
      );
    }
    // hosts whose heartbeat went stale: resolve and forget
    for (const [host] of [...this.hosts]) {
      if (seen.has(host)) continue;
      this.set(out, t, { region: this.region, host }, false, 0, 0, () => `${this.region}/${host}: no recent heartbeat; parity no longer evaluated`);
      this.hosts.delete(host);
    }
  }
}