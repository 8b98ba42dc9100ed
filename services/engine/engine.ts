/**
 * The alert engine: validate (done by the caller) → dedup by id → lateness → event-time windows → rule state
 * machines → transitions, plus hourly aggregates. No I/O, no wall clock: time comes from event timestamps and from
 * advanceTo() (the live processor's wall-clock tick, replay's --until).
 *
 * Time is kept per region: each region has its own clock (the largest event time seen for it, or the last
 * advanceTo()), dedup memory, windows and hourly buckets. Since events are keyed by region on Kafka, a region's
 * state lives in exactly one partition, so the output does not depend on how regions are spread over partitions
 * and processor instances: `signwatch replay` over the whole stream equals the live processor.
 *
 * An event is late when ts < region clock − allowedLateness: it is aggregated (hourly) but never reaches the rules.
 * It is expired when ts < region clock − hourlyRetention: too old even for the aggregates (the store keeps it).
 */
import { REGIONS, type EventType, type Region, type SignEvent } from '../../schemas/events.js';
import { freezesReleases } from '../../schemas/alert.js';
import { alertConfig, type Policy } from './policy.js';
import { Dedup } from './dedup.js';
import { HourlyAggregator } from './hourly.js';
import type { Rule } from './rule.js';
import { isFleetRule, type AnyRuleDefinition } from './rules/definition.js';
import { RULES, type Registry } from './rules/index.js';
import { TimestampParser, toIso, toMs } from './time.js';
import { DrillTracker, type DrillRecord } from './drill.js';
import type { AlertEngine, EngineState, EngineStats, HourlyAggregate, OfferOutcome, RegionSnapshot, Sink, Transition } from './types.js';
import { ClassRegistry, encodeGraph, reachable, restoreGraph, shapeFingerprint, StateCodecError } from './state-codec.js';

/**
 * Bump when the engine's state changes meaning without changing shape (same classes and field names, different
 * content): checkpoints of another version are not loaded (the processor rebuilds from the log instead).
 */
export const ENGINE_STATE_VERSION = 1;

interface RegionState {
  region: Region;
  clock: number;
  dedup: Dedup;
  hourly: HourlyAggregator;
  rules: Rule[];
  byType: Map<EventType, Rule[]>;
  /** The region's drills (region and all scopes; none in the fleet scope). */
  drill: DrillTracker | undefined;
}

/**
 * Which alerts an engine runs: `all` (replay: every alert over the whole stream), `region` (a processor partition:
 * the region alerts of the regions it holds) or `fleet` (the processor's fleet partition: the fleet alerts, fed with
 * offerFleet()).
 */
export type EngineScope = 'all' | 'region' | 'fleet';

export interface EngineOptions {
  /** The alert registry (default: every built-in alert); the policy must have been parsed with the same one. */
  rules?: Registry;
  scope?: EngineScope;
}

/** The fleet's alerts: one instance each, their own clock (the largest time of the events they were offered). */
interface FleetState {
  clock: number;
  rules: Rule[];
  defs: AnyRuleDefinition[];
  byType: Map<EventType, Rule[]>;
  dedup: Dedup;
}

function byTypeOf(defs: readonly AnyRuleDefinition[], rules: readonly Rule[]): Map<EventType, Rule[]> {
  const byType = new Map<EventType, Rule[]>();
  defs.forEach((f, i) => {
    for (const t of f.types) {
      const list = byType.get(t) ?? [];
      list.push(rules[i]!);
      byType.set(t, list);
    }
  });
  return byType;
}

/** The enabled definitions of a registry under a policy. */
export function enabledRules(policy: Readonly<Policy>, rules: Registry = RULES): AnyRuleDefinition[] {
  return rules.filter((d) => alertConfig(policy, d.name).enabled);
}

/** The alerts whose firing freezes a region's releases under the policy (each definition's `freezes`). */
export function freezingAlerts(policy: Readonly<Policy>, rules: Registry = RULES): ReadonlySet<string> {
  return new Set(
    enabledRules(policy, rules)
      .filter((d) => {
        const cfg = alertConfig(policy, d.name);
        return d.freezes ? d.freezes(cfg) : freezesReleases(cfg);
      })
      .map((d) => d.name),
  );
}

/**
 * The longest stretch of event time the engine's state depends on, besides dedup of ids (bounded by retention):
 * a rebuild that re-reads this much before the committed position restores the same state.
 */
export function stateHorizon(policy: Readonly<Policy>, rules: Registry = RULES): number {
  let longest = 0;
  for (const d of enabledRules(policy, rules)) longest = Math.max(longest, d.horizon(alertConfig(policy, d.name)));
  // a drill's state: the cohort's heartbeats before the start, then up to the longest timeout a start may ask for
  longest = Math.max(longest, policy.drill.lookback + Math.max(policy.drill.timeout, MAX_DRILL_TIMEOUT));
  return policy.hourlyRetention + policy.allowedLateness + longest;
}

/** The longest `drill start --timeout` the wire contract allows (DrillEvent.timeoutMs). */
export const MAX_DRILL_TIMEOUT = 7 * 86_400_000;

/**
 * The engine's bookkeeping of a region that is not state (not checkpointed, rebuilt after loadState): the rules'
 * earliest pending work, so that a clock step below it advances only the rules an event was offered to.
 */
interface RegionHot {
  r: RegionState;
  /** Per rule (r.rules order): ≤ its nextWork, the first instant its advance() has work; -Infinity: unknown or dirty. */
  next: Float64Array;
  /** ≤ every entry of `next`. */
  minNext: number;
  /** Some rule's clock may lag the region's (its advance to it deferred: nothing due meanwhile). */
  lagging: boolean;
  /** Event type → indexes of the rules it is offered to (r.byType as indexes into r.rules). */
  byType: Map<EventType, number[]>;
}

class Engine implements AlertEngine {
  private readonly drillOut: DrillRecord[] = [];
  private readonly regions = new Map<Region, RegionState>();
  private hot = new Map<Region, RegionHot>();
  private readonly out: Transition[] = [];
  private readonly emitHourly: (a: HourlyAggregate) => void;
  private readonly defs: AnyRuleDefinition[];
  private readonly fleet: FleetState | undefined;
  private readonly time = new TimestampParser();
  readonly stats: EngineStats = { accepted: 0, duplicate: 0, late: 0, expired: 0, future: 0, transitions: 0 };

  constructor(
    private readonly policy: Readonly<Policy>,
    private readonly sink: Sink,
    private readonly opts: EngineOptions,
  ) {
    const scope = opts.scope ?? 'all';
    const all = enabledRules(policy, opts.rules);
    const defs = scope === 'fleet' ? [] : all.filter((d) => !isFleetRule(d));
    const fleetDefs = scope === 'region' ? [] : all.filter(isFleetRule);
    this.defs = defs;
    if (fleetDefs.length) {
      const rules = fleetDefs.map((d) => d.createFleet!(alertConfig(policy, d.name), policy) as Rule);
      this.fleet = { clock: -Infinity, rules, defs: fleetDefs, byType: byTypeOf(fleetDefs, rules), dedup: new Dedup(policy.hourlyRetention) };
    }
    for (const region of REGIONS) {
      const rules: Rule[] = defs.map((d) => d.create!(region, alertConfig(policy, d.name), policy) as Rule);
      const byType = byTypeOf(defs, rules);
      this.regions.set(region, {
        region,
        clock: -Infinity,
        dedup: new Dedup(policy.hourlyRetention),
        hourly: new HourlyAggregator(region, policy.allowedLateness, policy.hourlyRetention),
        rules,
        byType,
        drill: scope === 'fleet' ? undefined : new DrillTracker(region, { lookback: policy.drill.lookback, timeout: policy.drill.timeout, allowedLateness: policy.allowedLateness }),
      });
    }
    this.emitHourly = (a) => this.sink.hourly(a);
    this.rebuildHot();
  }

  private rebuildHot(): void {
    this.hot = new Map(
      [...this.regions].map(([region, r]) => {
        const byType = new Map<EventType, number[]>();
        for (const [t, rules] of r.byType) byType.set(t, rules.map((rule) => r.rules.indexOf(rule)));
        return [region, { r, next: new Float64Array(r.rules.length).fill(-Infinity), minNext: -Infinity, lagging: false, byType }];
      }),
    );
  }

  /** Bring every rule's clock up to its region's (the deferred advances): before state is read or saved. */
  private catchUp(): void {
    for (const h of this.hot.values()) this.catchUpRegion(h);
  }

  private catchUpRegion(h: RegionHot): void {
    if (!h.lagging) return;
    h.lagging = false;
    const r = h.r;
    if (!Number.isFinite(r.clock)) return;
    for (const rule of r.rules) if (rule.clock < r.clock) rule.advance(r.clock, this.out);
    this.drain();
  }

  /** The state saveState() writes: everything that changes as events arrive (sink, parser cache and policy aside). */
  private stateRoot(): unknown {
    return { regions: this.regions, fleet: this.fleet, stats: this.stats };
  }

  private statics?: Set<object>;
  private classes?: ClassRegistry;
  private shape?: string;

  private codec(): { statics: Set<object>; classes: ClassRegistry; shape: string } {
    if (!this.statics || !this.classes || !this.shape) {
      const defs = [...this.defs, ...(this.fleet?.defs ?? [])];
      this.statics = reachable(this.policy, defs, defs.map((d) => alertConfig(this.policy, d.name)));
      // the shape of a NEW engine alike (this one may have state already)
      const fresh = new Engine(this.policy, { transition: () => {}, hourly: () => {} }, this.opts).stateRoot();
      this.classes = new ClassRegistry().collect(fresh, this.stateRoot(), HourlyAggregator.sample());
      this.shape = shapeFingerprint(fresh, this.statics, `v${ENGINE_STATE_VERSION}\0${JSON.stringify(this.policy)}\0${defs.map((d) => d.name).join(',')}`);
    }
    return { statics: this.statics, classes: this.classes, shape: this.shape };
  }

  saveState(): EngineState | null {
    this.catchUp();
    const rules = [...[...this.regions.values()].flatMap((r) => r.rules), ...(this.fleet?.rules ?? [])];
    if (rules.some((r) => ((r as { pendingDeadlines?: number }).pendingDeadlines ?? 0) > 0)) return null;
    const { statics, classes, shape } = this.codec();
    return { shape, graph: encodeGraph(this.stateRoot(), statics, classes) };
  }

  loadState(state: EngineState): void {
    const { classes, shape } = this.codec();
    if (state.shape !== shape) throw new StateCodecError(`engine state: saved by an engine of another shape, policy or version (${state.shape} ≠ ${shape})`);
    restoreGraph(state.graph, this.stateRoot(), classes);
    this.rebuildHot();
  }

  offer(event: SignEvent, refMs?: number): OfferOutcome {
    const h = this.hot.get(event.region)!;
    const r = h.r;
    const ts = this.time.toMs(event.ts);
    // bounded event time: no event stamped beyond its reference time + maxFutureSkew moves a clock or enters a
    // window (nor the dedup memory); it is evidence against its host's clock
    if (refMs !== undefined && ts > refMs + this.policy.maxFutureSkew) {
      this.stats.future++;
      let evidence = false;
      this.catchUpRegion(h); // observeFuture reads the rule's clock
      for (const rule of r.rules) {
        if (rule.observeFuture) {
          rule.observeFuture(event, ts - refMs);
          evidence = true;
        }
      }
      if (evidence && Number.isFinite(r.clock)) {
        h.next.fill(-Infinity); // observeFuture changed what is due
        h.minNext = -Infinity;
        this.advanceLazy(h, r.clock); // evaluate now, at the region's clock
      }
      return 'future';
    }
    // older than what the engine remembers at all (ids and hourly buckets): expired, whether or not a duplicate
    if (ts < r.clock - this.policy.hourlyRetention) {
      this.stats.expired++;
      return 'expired';
    }
    if (!r.dedup.add(event.id, ts)) {
      this.stats.duplicate++;
      return 'duplicate';
    }
    if (ts < r.clock - this.policy.allowedLateness) {
      this.stats.late++;
      r.hourly.add(event, ts, true);
      r.hourly.advance(r.clock, this.emitHourly);
      return 'late';
    }
    this.stats.accepted++;
    r.hourly.add(event, ts, false);
    const idx = h.byType.get(event.type);
    const drill = r.drill && DrillTracker.TYPES.has(event.type) ? r.drill : undefined;
    if (idx || drill) {
      // Evaluate every instant before this event without it (causality), then observe it and evaluate at ts.
      const before = ts - 1 > r.clock ? ts - 1 : r.clock;
      if (ts - 1 > r.clock) this.advanceLazy(h, ts - 1);
      if (idx) {
        const rules = r.rules;
        const next = h.next;
        for (const i of idx) {
          const rule = rules[i]!;
          // its deferred advance first: the rule sees the event at the clock it would have had (nothing due before)
          if (rule.clock < before) rule.advance(before, this.out);
          rule.observe(event, ts);
          const n = rule.nextWork ?? -Infinity;
          next[i] = n;
          if (n < h.minNext) h.minNext = n;
        }
        if (this.out.length) this.drain();
      }
      if (drill) {
        drill.observe(event, ts, this.drillOut);
        this.drainDrills();
      }
    }
    this.stepLazy(h, ts > r.clock ? ts : r.clock);
    if (this.fleet?.byType.has(event.type)) this.fleetObserve(this.fleet, event, ts);
    return 'accepted';
  }

  offerFleet(event: SignEvent): 'accepted' | 'duplicate' | 'ignored' {
    const f = this.fleet;
    if (!f?.byType.has(event.type)) return 'ignored';
    return this.fleetObserve(f, event, this.time.toMs(event.ts)) ? 'accepted' : 'duplicate';
  }

  /** An accepted event to the fleet's alerts, on the fleet's clock (causal, as for a region). */
  private fleetObserve(f: FleetState, event: SignEvent, ts: number): boolean {
    if (!f.dedup.add(event.id, ts)) return false;
    if (ts - 1 > f.clock) this.advanceFleet(f, ts - 1);
    for (const rule of f.byType.get(event.type) ?? []) rule.observe(event, ts);
    this.advanceFleet(f, ts > f.clock ? ts : f.clock);
    return true;
  }

  private advanceFleet(f: FleetState, to: number): void {
    for (const rule of f.rules) rule.advance(to, this.out);
    this.drain();
    if (to > f.clock) {
      f.clock = to;
      f.dedup.evict(to);
    }
  }

  advanceTo(nowMs: number): void {
    for (const h of this.hot.values()) {
      if (nowMs > h.r.clock) this.stepLazy(h, nowMs);
    }
    if (this.fleet && nowMs > this.fleet.clock) this.advanceFleet(this.fleet, nowMs);
  }

  flush(): void {
    for (const r of this.regions.values()) r.hourly.flush(this.emitHourly);
  }

  private drainDrills(): void {
    if (!this.drillOut.length) return;
    for (const d of this.drillOut) this.sink.drill?.(d);
    this.drillOut.length = 0;
  }

  /**
   * Advance the region's drills and the rules with work due by `to` (a breakpoint, a deadline, an observed event)
   * and emit their transitions in time order (ties: registry order). The other rules only fall behind the region's
   * clock, which they catch up later in one advance (catchUpRegion, or before an event is offered to them): the same
   * as advancing them now, since nothing of theirs is due.
   */
  private advanceLazy(h: RegionHot, to: number): void {
    const r = h.r;
    if (r.drill) {
      r.drill.advance(to, this.drillOut);
      this.drainDrills();
    }
    h.lagging = true;
    if (to < h.minNext) return;
    const rules = r.rules;
    const next = h.next;
    let m = Infinity;
    for (let i = 0; i < rules.length; i++) {
      if (next[i]! <= to) {
        const rule = rules[i]!;
        rule.advance(to, this.out);
        next[i] = rule.nextWork ?? -Infinity;
      }
      if (next[i]! < m) m = next[i]!;
    }
    h.minNext = m;
    this.drain();
  }

  /** Move the region's clock to `to`: rules (advanceLazy), then hourly buckets the clock closes, then dedup memory. */
  private stepLazy(h: RegionHot, to: number): void {
    const r = h.r;
    this.advanceLazy(h, to);
    const moved = to > r.clock;
    r.clock = to;
    if (moved) {
      r.hourly.advance(to, this.emitHourly);
      r.dedup.evict(to);
    }
  }

  private drain(): void {
    const out = this.out;
    if (out.length) {
      if (out.length > 1) out.sort((a, b) => toMs(a.at) - toMs(b.at)); // stable: rule order breaks ties
      for (const t of out) {
        const drill = this.regions.get(t.labels.region as Region)?.drill;
        if (drill && !drill.idleFor(t)) drill.tag(t, toMs(t.at));
        this.sink.transition(t);
      }
      this.stats.transitions += out.length;
      out.length = 0;
    }
  }

  snapshot(): RegionSnapshot[] {
    this.catchUp();
    const snaps = new Map<Region, RegionSnapshot>();
    for (const r of this.regions.values()) {
      const s: RegionSnapshot = { region: r.region, clock: Number.isFinite(r.clock) ? toIso(r.clock) : null, firing: [], gauges: [] };
      r.rules.forEach((rule, i) => {
        for (const f of rule.firing()) s.firing.push({ alert: f.alert, labels: f.labels, since: toIso(f.since), value: f.value });
        for (const g of this.defs[i]!.gauges) {
          for (const reading of g.read(rule)) s.gauges.push({ name: g.name, labels: { region: r.region, ...reading.labels }, value: reading.value });
        }
      });
      for (const g of r.drill?.readings() ?? []) s.gauges.push({ name: g.name, labels: { region: r.region }, value: g.value });
      snaps.set(r.region, s);
    }
    // fleet alerts name their region in their labels: each reading goes to its region's snapshot
    const f = this.fleet;
    if (f) {
      const into = (region: string | number | boolean | undefined) => snaps.get(region as Region);
      f.rules.forEach((rule, i) => {
        for (const x of rule.firing()) into(x.labels.region)?.firing.push({ alert: x.alert, labels: x.labels, since: toIso(x.since), value: x.value });
        for (const g of f.defs[i]!.gauges) for (const reading of g.read(rule)) into(reading.labels.region)?.gauges.push({ name: g.name, labels: reading.labels, value: reading.value });
      });
    }
    return [...snaps.values()];
  }
}

export function createEngine(policy: Readonly<Policy>, sink: Sink, opts: EngineOptions = {}): AlertEngine {
  return new Engine(policy, sink, opts);
}

/** A Sink that keeps everything in memory (tests, replay comparisons). */
export class MemorySink implements Sink {
  readonly transitions: Transition[] = [];
  readonly hourlies: HourlyAggregate[] = [];
  transition(t: Transition): void {
    this.transitions.push(t);
  }
  hourly(a: HourlyAggregate): void {
    this.hourlies.push(a);
  }
  readonly drills: DrillRecord[] = [];
  drill(d: DrillRecord): void {
    this.drills.push(d);
  }
}
