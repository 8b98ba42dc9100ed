/**
 * The quarterly revoke-one-certificate drill, tracked per region (docs/engine.md, "Drills"). One tracker per region,
 * fed the region's accepted `drill`, `heartbeat` and `codesign` events in the engine's order; no I/O, no wall clock.
 *
 * Green, exactly: the region is green at the first instant T ≥ start at which every signing-pool host that sent a
 * heartbeat in [start − lookback, start) (the cohort) has, at or after the start, (1) a scan (a heartbeat with the
 * full `certSha1s` inventory) that does not list the drilled certificate and (2) a successful signing call
 * (`codesign`/`productsign`, operation `sign`, outcome ok) with an identity other than it. T is the latest of the
 * cohort's completions (the start itself for an empty cohort). A region not green before start + timeout is red at
 * start + timeout; `drill stop` makes a region still pending red at the stop's time. green and red are final.
 *
 * Out-of-order events inside the allowed lateness count as in the alert rules: a heartbeat of [start − lookback,
 * start) that arrives after the start joins the cohort, evidence that arrives late counts at its own time, and a
 * drill start that arrives after events of its region finds them in a buffer of the last allowedLateness of event
 * time. An event that arrives after its region's drill record became final changes nothing.
 */
import type { DrillEvent, Region, SignEvent } from '../../schemas/events.js';
import { METRICS } from '../platform/metric-names.js';
import { toIso } from './time.js';
import type { Transition } from './types.js';

export type DrillState = 'pending' | 'green' | 'red';
export type DrillLack = 'scan' | 'sign';

/** One region's drill state change: written to the alert topic (key `signwatch/drill/<drillId>/<region>`). */
export interface DrillRecord {
  kind: 'drill';
  drillId: string;
  region: Region;
  state: DrillState;
  /** RFC 3339: the instant of the change (green: the exact time-to-green instant). */
  at: string;
  /** green: at − startedAt (ms); otherwise null. */
  timeToGreenMs: number | null;
  /** Cohort hosts still lacking evidence (sorted). */
  pendingHosts: string[];
  /** What each pending host still lacks. */
  lacks: Record<string, DrillLack[]>;
  /** The cohort: signing hosts that heartbeat in the lookback before the start (sorted). */
  hosts: string[];
  sha1: string;
  startedAt: string;
  deadline: string;
  regions: Region[];
  by: string;
  note?: string;
  /** red: why (`timeout` or `stopped`, with who stopped it in `stoppedBy`). */
  reason?: 'timeout' | 'stopped';
  stoppedBy?: string;
}

export const drillKey = (r: Pick<DrillRecord, 'drillId' | 'region'>): string => `signwatch/drill/${r.drillId}/${r.region}`;

export function isDrillRecord(v: unknown): v is DrillRecord {
  const d = v as Partial<DrillRecord> | null;
  return !!d && d.kind === 'drill' && typeof d.drillId === 'string' && typeof d.region === 'string' && (d.state === 'pending' || d.state === 'green' || d.state === 'red');
}

export interface DrillSettings {
  /** Cohort: signing hosts with a heartbeat in [start − lookback, start). */
  lookback: number;
  /** A start without timeoutMs: the region is red this long after the start. */
  timeout: number;
  allowedLateness: number;
}

interface Progress {
  scanAt: number;
  signAt: number;
}

interface Drill {
  id: string;
  sha1: string;
  start: number;
  deadline: number;
  by: string;
  note: string | undefined;
  regions: Region[];
  cohort: Map<string, Progress>;
  state: DrillState;
  /** Where the drill's page window ends: the deadline, or the stop. */
  end: number;
  greenAt: number;
  lastAt: number;
  lastSig: string;
  pending: number;
}

interface Evidence {
  ts: number;
  host: string;
  /** scan: the inventory; sign: the identity. */
  scan?: readonly string[];
  identity?: string;
}

const isScan = (e: SignEvent): e is Extract<SignEvent, { type: 'heartbeat' }> & { certSha1s: string[] } => e.type === 'heartbeat' && e.certSha1s !== undefined;
const isSign = (e: SignEvent): e is Extract<SignEvent, { type: 'codesign' }> & { identity: string } =>
  e.type === 'codesign' && e.outcome === 'ok' && e.operation === 'sign' && e.identity !== undefined;

export class DrillTracker {
  /** Signing hosts → their heartbeat times of the last lookback + allowedLateness (sorted ascending). */
  private readonly beats = new Map<string, number[]>();
  /** Evidence of the last allowedLateness (for a drill start that arrives after it). */
  private recent: Evidence[] = [];
  private readonly drills = new Map<string, Drill>();
  /** dedupKey of a page tagged with a drill → the drill id (its resolve carries it too). */
  private readonly tagged = new Map<string, string>();
  private clock = -Infinity;
  private nextDeadline = Infinity;

  constructor(
    readonly region: Region,
    private readonly cfg: DrillSettings,
  ) {}

  /** Types the tracker observes. */
  static readonly TYPES: ReadonlySet<string> = new Set(['drill', 'heartbeat', 'codesign']);

  observe(e: SignEvent, ts: number, out: DrillRecord[]): void {
    this.advance(ts, out); // a deadline at ts is red before evidence at ts
    if (e.type === 'drill') return this.onDrill(e, ts, out);
    if (e.pool !== 'signing') return;
    if (e.type === 'heartbeat') this.beat(e.host, ts);
    const ev: Evidence | undefined = isScan(e) ? { ts, host: e.host, scan: e.certSha1s } : isSign(e) ? { ts, host: e.host, identity: e.identity } : undefined;
    if (ev) {
      this.recent.push(ev);
      const horizon = Math.max(ts, this.clock) - this.cfg.allowedLateness;
      if (this.recent.length > 64 && this.recent[0]!.ts < horizon) this.recent = this.recent.filter((x) => x.ts >= horizon);
    }
    for (const d of this.drills.values()) {
      if (d.state !== 'pending') continue;
      if (e.type === 'heartbeat' && ts >= d.start - this.cfg.lookback && ts < d.start && !d.cohort.has(e.host)) {
        // a late heartbeat of the lookback: the host joins the cohort with the evidence it already sent
        d.cohort.set(e.host, { scanAt: Infinity, signAt: Infinity });
        for (const x of this.recent) if (x.host === e.host && x !== ev) this.apply(d, x);
      }
      if (ev) this.apply(d, ev);
      this.evaluate(d, Math.max(ts, d.start), out);
    }
  }

  private beat(host: string, ts: number): void {
    let list = this.beats.get(host);
    if (!list) this.beats.set(host, (list = []));
    let i = list.length;
    while (i > 0 && list[i - 1]! > ts) i--;
    list.splice(i, 0, ts);
    const keep = Math.max(ts, this.clock) - this.cfg.lookback - this.cfg.allowedLateness;
    let drop = 0;
    while (drop < list.length && list[drop]! < keep) drop++;
    if (drop) list.splice(0, drop);
  }

  private apply(d: Drill, ev: Evidence): void {
    if (ev.ts < d.start || ev.ts >= d.deadline) return;
    const p = d.cohort.get(ev.host);
    if (!p) return;
    if (ev.scan && !ev.scan.includes(d.sha1) && ev.ts < p.scanAt) p.scanAt = ev.ts;
    if (ev.identity !== undefined && ev.identity !== d.sha1 && ev.ts < p.signAt) p.signAt = ev.ts;
  }

  private onDrill(e: DrillEvent, ts: number, out: DrillRecord[]): void {
    if (e.action === 'stop') {
      const d = this.drills.get(e.drillId);
      if (!d) return;
      if (ts < d.end) d.end = Math.max(ts, d.start);
      if (d.state === 'pending') this.finish(d, 'red', Math.max(ts, d.start), out, 'stopped', e.by);
      return;
    }
    if (this.drills.has(e.drillId) || e.sha1 === undefined) return; // the same drill started twice: the first start counts
    const timeout = e.timeoutMs ?? this.cfg.timeout;
    const d: Drill = {
      id: e.drillId,
      sha1: e.sha1,
      start: ts,
      deadline: ts + timeout,
      by: e.by,
      note: e.note,
      regions: [...e.regions],
      cohort: new Map(),
      state: 'pending',
      end: ts + timeout,
      greenAt: NaN,
      lastAt: ts,
      lastSig: '',
      pending: 0,
    };
    for (const [host, list] of this.beats) if (list.some((b) => b >= ts - this.cfg.lookback && b < ts)) d.cohort.set(host, { scanAt: Infinity, signAt: Infinity });
    for (const ev of this.recent) this.apply(d, ev);
    this.drills.set(d.id, d);
    if (d.deadline < this.nextDeadline) this.nextDeadline = d.deadline;
    this.evaluate(d, ts, out, true);
  }

  private lacksOf(d: Drill): Map<string, DrillLack[]> {
    const lacks = new Map<string, DrillLack[]>();
    for (const [host, p] of [...d.cohort].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const l: DrillLack[] = [];
      if (!Number.isFinite(p.scanAt)) l.push('scan');
      if (!Number.isFinite(p.signAt)) l.push('sign');
      if (l.length) lacks.set(host, l);
    }
    return lacks;
  }

  private evaluate(d: Drill, at: number, out: DrillRecord[], force = false): void {
    const lacks = this.lacksOf(d);
    d.pending = lacks.size;
    if (lacks.size === 0) {
      let t = d.start;
      for (const p of d.cohort.values()) t = Math.max(t, p.scanAt, p.signAt);
      d.greenAt = t;
      return this.finish(d, 'green', t, out);
    }
    const sig = JSON.stringify([...lacks]);
    if (!force && sig === d.lastSig) return;
    d.lastSig = sig;
    out.push(this.record(d, 'pending', Math.max(at, d.lastAt), lacks));
  }

  private finish(d: Drill, state: 'green' | 'red', at: number, out: DrillRecord[], reason?: 'timeout' | 'stopped', stoppedBy?: string): void {
    d.state = state;
    const lacks = this.lacksOf(d);
    d.pending = lacks.size;
    const r = this.record(d, state, Math.max(at, state === 'green' ? d.start : d.lastAt), lacks);
    if (reason) r.reason = reason;
    if (stoppedBy) r.stoppedBy = stoppedBy;
    out.push(r);
  }

  private record(d: Drill, state: DrillState, at: number, lacks: Map<string, DrillLack[]>): DrillRecord {
    d.lastAt = at;
    const r: DrillRecord = {
      kind: 'drill',
      drillId: d.id,
      region: this.region,
      state,
      at: toIso(at),
      timeToGreenMs: state === 'green' ? at - d.start : null,
      pendingHosts: [...lacks.keys()],
      lacks: Object.fromEntries(lacks),
      hosts: [...d.cohort.keys()].sort(),
      sha1: d.sha1,
      startedAt: toIso(d.start),
      deadline: toIso(d.deadline),
      regions: d.regions,
      by: d.by,
    };
    if (d.note !== undefined) r.note = d.note;
    return r;
  }

  /** Move the tracker's clock to `to`: every pending drill whose deadline is ≤ to is red at its deadline. */
  advance(to: number, out: DrillRecord[]): void {
    if (to > this.clock) this.clock = to;
    if (this.nextDeadline > to) return;
    const due = [...this.drills.values()].filter((d) => d.state === 'pending' && d.deadline <= to).sort((a, b) => a.deadline - b.deadline);
    for (const d of due) this.finish(d, 'red', d.deadline, out, 'timeout');
    this.nextDeadline = Infinity;
    for (const d of this.drills.values()) if (d.state === 'pending' && d.deadline < this.nextDeadline) this.nextDeadline = d.deadline;
    this.forget(to);
  }

  /** Finished drills are kept a day past their deadline (for tagging resolves and the gauges), then dropped. */
  private forget(now: number): void {
    for (const [id, d] of this.drills) if (d.state !== 'pending' && now > d.deadline + 86_400_000 && this.latest() !== d) this.drills.delete(id);
  }

  /**
   * A page of the drilled certificate (labels.sha1) of this region that fires during the drill ([start, end)) gets
   * the drill id; a tagged page's resolve keeps it.
   */
  tag(t: Transition, at: number): void {
    const prev = this.tagged.get(t.dedupKey);
    if (prev !== undefined) {
      t.drillId = prev;
      if (t.state === 'resolved') this.tagged.delete(t.dedupKey);
      return;
    }
    const sha1 = t.labels.sha1;
    if (t.state !== 'firing' || sha1 === undefined) return;
    for (const d of this.drills.values()) {
      if (d.sha1 === sha1 && at >= d.start && at < d.end) {
        t.drillId = d.id;
        this.tagged.set(t.dedupKey, d.id);
        return;
      }
    }
  }

  /** The region's latest drill (by start), for the gauges. */
  latest(): Drill | undefined {
    let best: Drill | undefined;
    for (const d of this.drills.values()) if (!best || d.start > best.start || (d.start === best.start && d.id > best.id)) best = d;
    return best;
  }

  /** Gauge readings: pending hosts of the latest drill, and its time to green once green. */
  readings(): { name: string; value: number }[] {
    const d = this.latest();
    if (!d) return [];
    const out: { name: string; value: number }[] = [{ name: DRILL_METRICS.pendingHosts, value: d.pending }];
    if (d.state === 'green') out.push({ name: DRILL_METRICS.timeToGreen, value: (d.greenAt - d.start) / 1000 });
    return out;
  }

  /** True when tagging cannot apply to `t` (no drill, no tagged page; or a page without a certificate). */
  idleFor(t: Transition): boolean {
    return (this.drills.size === 0 && this.tagged.size === 0) || (t.labels.sha1 === undefined && !this.tagged.has(t.dedupKey));
  }
}

export const DRILL_METRICS = { timeToGreen: METRICS.drillTimeToGreen, pendingHosts: METRICS.drillPendingHosts } as const;
