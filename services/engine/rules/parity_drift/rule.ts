/**
 * parity_drift{region, host}: a fleet alert (one instance, every region's heartbeats). Every host should run the same
 * wrapper (sha256), keychain path, keychain search order, team IDs and vault secret version as the FLEET, and the same
 * App Store Connect account label as its REGION (policy `perRegion`). For each compared field the baseline is the
 * strict majority of the active hosts (latest heartbeat within staleAfter): fleet-wide, or within the host's region
 * for a per-region field. A host whose value differs from a baseline fires; value = number of differing fields.
 *
 * Hence: one host that differs only in secretVersion fires; a whole region that differs from the other four fires
 * for each of its hosts (they are the fleet's minority); a 2-host region is compared with the fleet, not with itself.
 * A fleet-wide field with no strict majority has no baseline and fires nobody (there is nothing to drift from); a
 * per-region field split evenly inside a region fires every host of that region (one label per region is the rule).
 * A heartbeat without a field (an older agent without notaryProfile) takes no part in that field's vote.
 */
import type { HeartbeatEvent, Region, SignEvent } from '../../../../schemas/events.js';
import { dampingOf } from '../../../../schemas/alert.js';
import type { Config, ParityField } from './policy.js';
import { BaseRule, DetailsBuilder } from '../../rule.js';
import type { Transition } from '../../types.js';

function valueOf(e: HeartbeatEvent, f: ParityField): string | undefined {
  switch (f) {
    case 'wrapperSha256':
      return e.wrapperSha256;
    case 'keychain':
      return e.keychain ?? e.searchList[0] ?? '';
    case 'searchList':
      return e.searchList.join('\n');
    case 'teamIds':
      return [...e.teamIds].sort().join(',');
    case 'secretVersion':
      return e.secretVersion;
    case 'notaryProfile':
      return e.notaryProfile;
  }
}

interface HostState {
  region: Region;
  ts: number;
  values: Partial<Record<ParityField, string>>;
  fp: string;
}

/** The strict majority of `values` (more than half), or undefined. */
function strictMajority(values: readonly string[]): string | undefined {
  const votes = new Map<string, number>();
  for (const v of values) votes.set(v, (votes.get(v) ?? 0) + 1);
  for (const [v, n] of votes) if (n * 2 > values.length) return v;
  return undefined;
}

export class ParityDrift extends BaseRule {
  private readonly hosts = new Map<string, HostState>();
  private readonly fleetFields: readonly ParityField[];
  private readonly regionFields: readonly ParityField[];

  constructor(private readonly cfg: Config) {
    super('parity_drift', 'fleet', cfg.severity, dampingOf(cfg));
    this.regionFields = cfg.fields.filter((f) => cfg.perRegion.includes(f));
    this.fleetFields = cfg.fields.filter((f) => !cfg.perRegion.includes(f));
  }

  observe(event: SignEvent, ts: number): void {
    if (event.type !== 'heartbeat') return;
    const cur = this.hosts.get(event.host);
    if (cur && cur.ts > ts) return;
    const values: Partial<Record<ParityField, string>> = {};
    for (const f of this.cfg.fields) {
      const v = valueOf(event, f);
      if (v !== undefined) values[f] = v;
    }
    const fp = `${event.region}\u0001${this.cfg.fields.map((f) => values[f] ?? '\u0002').join('\u0000')}`;
    if (cur && cur.fp === fp && ts < cur.ts + this.cfg.staleAfter) {
      // same configuration from an active host: only its staleness moves
      cur.ts = ts;
      return;
    }
    this.hosts.set(event.host, { region: event.region, ts, values, fp });
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
    const active = [...this.hosts].filter(([, h]) => t < h.ts + this.cfg.staleAfter).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const vote = (f: ParityField, hs: readonly [string, HostState][]) => strictMajority(hs.map(([, h]) => h.values[f]).filter((v): v is string => v !== undefined));
    const fleetBaseline = new Map(this.fleetFields.map((f) => [f, vote(f, active)] as const));
    const regionBaseline = new Map<Region, Map<ParityField, string | undefined>>();
    for (const [, h] of active) {
      if (regionBaseline.has(h.region)) continue;
      const inRegion = active.filter(([, x]) => x.region === h.region);
      regionBaseline.set(h.region, new Map(this.regionFields.map((f) => [f, vote(f, inRegion)] as const)));
    }
    const seen = new Set<string>();
    for (const [host, h] of active) {
      seen.add(host);
      const diff: { field: ParityField; host: string; baseline: string; scope: 'fleet' | 'region' }[] = [];
      for (const f of this.fleetFields) {
        const b = fleetBaseline.get(f);
        const v = h.values[f];
        if (b !== undefined && v !== undefined && v !== b) diff.push({ field: f, host: v, baseline: b, scope: 'fleet' });
      }
      for (const f of this.regionFields) {
        const v = h.values[f];
        if (v === undefined) continue;
        const b = regionBaseline.get(h.region)?.get(f);
        // no strict majority inside the region: it has more than one label, which is the drift itself
        if (b === undefined || v !== b) diff.push({ field: f, host: v, baseline: b ?? '(no majority in the region)', scope: 'region' });
      }
      const region = h.region;
      this.set(
        out,
        t,
        { region, host },
        diff.length > 0,
        diff.length,
        0,
        (s) =>
          s === 'firing'
            ? `${region}/${host}: configuration differs from the ${diff.some((d) => d.scope === 'fleet') ? 'fleet' : 'region'}'s majority in ${diff.map((d) => d.field).join(', ')}`
            : `${region}/${host}: configuration back in parity with the fleet`,
        () => {
          const d = new DetailsBuilder().add('hosts', host);
          if (h.values.keychain !== undefined) d.add('keychains', h.values.keychain);
          const details = d.build();
          details.facts = Object.fromEntries(diff.map((x) => [x.field, `${abbrev(x.host)} (majority of the ${x.scope}: ${abbrev(x.baseline)})`]));
          return details;
        },
      );
    }
    // hosts whose heartbeat went stale: resolve and forget
    for (const [host, h] of [...this.hosts]) {
      if (seen.has(host)) continue;
      this.set(out, t, { region: h.region, host }, false, 0, 0, () => `${h.region}/${host}: no recent heartbeat; parity no longer evaluated`);
      this.hosts.delete(host);
    }
  }

  /** Active hosts that differ, per region (the gauge). */
  driftByRegion(): Map<Region, number> {
    const m = new Map<Region, number>();
    for (const f of this.firing()) {
      const r = f.labels.region as Region;
      m.set(r, (m.get(r) ?? 0) + 1);
    }
    return m;
  }

  /** The regions with an active host (the gauge reads 0 for them when nothing differs). */
  regions(): Set<Region> {
    return new Set([...this.hosts.values()].map((h) => h.region));
  }
}

const abbrev = (v: string): string => (v.length > 24 ? `${v.slice(0, 12)}…` : v).replace(/\n/g, ' → ');
