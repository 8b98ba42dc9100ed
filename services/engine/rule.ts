/**
 * An alert rule: the logic of one alert folder (services/engine/rules/<alert>/rule.ts), one instance per region,
 * created by the folder's RuleDefinition (rules/definition.ts) and listed in the registry (rules/index.ts).
 *
 * Lifecycle (driven by the engine, synchronously, for one region):
 *   observe(event, ts)  — an accepted, on-time event of a type the rule declared (late events never reach rules);
 *   advance(to, out)    — move the rule's clock to `to`: evaluate the condition at every instant in (pos, to] where it
 *                         can change (nextChange), then once more at `to` if an event was observed since the last
 *                         evaluation; push a Transition for every change of state, stamped with that exact instant.
 * Conditions must be causal (the state at t depends only on events with ts ≤ t), so evaluating breakpoints before an
 * in-order event at ts > breakpoint is the same as evaluating them with it.
 */
import type { Region, SignEvent } from '../../schemas/events.js';
import type { Severity } from '../../schemas/alert.js';
import { CodedError } from '../platform/errors.js';
import { toIso } from './time.js';
import type { AlertDetails, Transition } from './types.js';
import { SlidingWindow, type WindowHooks } from './window.js';

export interface FiringInfo {
  alert: string;
  labels: Record<string, string>;
  since: number;
  value: number;
}

export interface Rule {
  readonly alert: string;
  /** The rule's own clock: the last instant it was advanced to. */
  readonly clock: number;
  observe(event: SignEvent, ts: number): void;
  /**
   * A valid event rejected as future_timestamp: stamped `skewMs` ahead of its reference time. Rules that blame the
   * host for it (clock_skew) take it as evidence at the region's clock; the event itself enters no window.
   */
  observeFuture?(event: SignEvent, skewMs: number): void;
  advance(to: number, out: Transition[]): void;
  firing(): FiringInfo[];
  /**
   * Optional: the first instant at which advance() has work to do (-Infinity when unknown or dirty). Below it,
   * advance(to) only moves the rule's clock, so the engine may defer it (one later advance does the same).
   */
  readonly nextWork?: number;
}

export function dedupKey(alert: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`);
  return `signwatch/${alert}/${parts.join(',')}`;
}

const CAP = 20;
/** Collects the evidence behind a page: sorted, de-duplicated, capped lists. */
export class DetailsBuilder {
  private readonly sets = {
    hosts: new Set<string>(),
    keychains: new Set<string>(),
    partitionIds: new Set<string>(),
    errorCodes: new Set<string>(),
    correlationIds: new Set<string>(),
    eventIds: new Set<string>(),
  };
  private facts: Record<string, string | number> | undefined;
  add(field: Exclude<keyof AlertDetails, 'facts'>, value: string | undefined): this {
    if (value !== undefined && value !== '') this.sets[field].add(value);
    return this;
  }
  fact(name: string, value: string | number | undefined): this {
    if (value !== undefined) (this.facts ??= Object.create(null) as Record<string, string | number>)[name] = value;
    return this;
  }
  build(): AlertDetails {
    const out = {} as AlertDetails;
    for (const [k, s] of Object.entries(this.sets) as [Exclude<keyof AlertDetails, 'facts'>, Set<string>][]) {
      out[k] = [...s].sort().slice(0, CAP);
    }
    // a plain object for the wire (Object.fromEntries defines every key as its own property, `__proto__` included)
    if (this.facts) out.facts = Object.fromEntries(Object.entries(this.facts));
    return out;
  }
}

/** One label set of a rule: the condition its rule last reported, and the state the rule last emitted. */
interface KeyState {
  labels: Record<string, string>;
  /** Emitted state: a `firing` transition was written and no `resolved` since. */
  firing: boolean;
  /** When the emitted state began. */
  since: number;
  /** The condition as last reported by the rule, and since when it holds. */
  cond: boolean;
  condSince: number;
  value: number;
  threshold: number;
  summary: (state: 'firing' | 'resolved') => string;
  details: (() => AlertDetails) | undefined;
}

/** Damping of one alert (policy `for` / `keepFiringFor`, Prometheus' semantics, exact in event time). */
export interface Damping {
  /** The condition must hold through this long before the alert fires (0: at once). */
  forMs: number;
  /** Once firing, the alert keeps firing until the condition has been false through this long (0: at once). */
  keepFiringForMs: number;
}

const NO_DAMPING: Damping = { forMs: 0, keepFiringForMs: 0 };

/**
 * Base for rules: tracks each label set's condition and emitted state, emits transitions on change (after the
 * policy's damping), and runs the breakpoint walk. Subclasses implement nextChange() (next instant > pos where the
 * condition may change) and evaluate(t), which reports conditions with set().
 *
 * Damping, exactly: a condition that becomes true at t0 fires at t0 + for if it still holds at every breakpoint up
 * to and including t0 + for (a deadline is itself a breakpoint); a firing alert whose condition becomes false at t1
 * resolves at t1 + keepFiringFor if it is still false then. With both 0 (the default) a change is emitted at once.
 */
export abstract class BaseRule implements Rule {
  protected pos = -Infinity;
  protected dirty = false;
  private readonly state = new Map<string, KeyState>();
  /** label set → instant its pending change (fire after `for`, resolve after `keepFiringFor`) is due. */
  private readonly pending = new Map<string, number>();
  protected readonly severity: Severity;
  private readonly damping: Damping;

  /** `scope`: the region of a region alert's instance, or `fleet` for the one instance of a fleet alert. */
  constructor(
    readonly alert: string,
    private readonly scope: Region | 'fleet',
    severity: Severity,
    damping: Partial<Damping> = NO_DAMPING,
  ) {
    this.severity = severity;
    this.damping = { ...NO_DAMPING, ...damping };
  }

  /** The region of a region alert (a fleet alert names the region in each transition's labels instead). */
  protected get region(): Region {
    if (this.scope === 'fleet') throw new Error(`${this.alert}: a fleet alert has no region of its own`);
    return this.scope;
  }

  get clock(): number {
    return this.pos;
  }

  abstract observe(event: SignEvent, ts: number): void;
  protected abstract nextChange(): number;
  protected abstract evaluate(t: number, out: Transition[]): void;
  /** Move internal windows to t without evaluating (nothing changes between breakpoints). */
  protected seek(_t: number): void {}

  /** The next breakpoint as of the last evaluation; valid until the next observe() (which sets dirty) or evaluate(). */
  private next = -Infinity;

  private nextDeadline(): number {
    let d = Infinity;
    for (const v of this.pending.values()) if (v < d) d = v;
    return d;
  }

  advance(to: number, out: Transition[]): void {
    if (!this.dirty && this.next > to) {
      // fast path: nothing observed, no breakpoint or damping deadline before `to`
      if (to > this.pos) {
        this.pos = to;
        this.seek(to);
      }
      return;
    }
    for (;;) {
      const bc = this.nextChange();
      const bd = this.pending.size ? this.nextDeadline() : Infinity;
      const b = bc < bd ? bc : bd;
      if (!(b <= to)) break;
      if (b <= this.pos) throw new CodedError('SW_ENGINE_STALLED', `rule ${this.alert} reported breakpoint ${b} ≤ its clock ${this.pos}`);
      this.pos = b;
      if (bc === b) this.evaluate(b, out);
      if (bd === b) this.settleDue(b, out);
    }
    if (to > this.pos) {
      this.pos = to;
      this.seek(to);
    }
    if (this.dirty) {
      this.dirty = false;
      this.evaluate(this.pos, out);
    }
    const bc = this.nextChange();
    const bd = this.pending.size ? this.nextDeadline() : Infinity;
    this.next = bc < bd ? bc : bd;
  }

  /**
   * The first instant at which advance() has work (a breakpoint or damping deadline), -Infinity while an observed
   * event waits for evaluation: until then advance(to) for any `to` below it only moves the clock (the engine skips
   * such calls and makes up the clock later with one advance, which is the same).
   */
  get nextWork(): number {
    return this.dirty ? -Infinity : this.next;
  }

  /** Label sets waiting for a damping deadline (their closures are not data: no checkpoint is taken meanwhile). */
  get pendingDeadlines(): number {
    return this.pending.size;
  }

  firing(): FiringInfo[] {
    const out: FiringInfo[] = [];
    for (const s of this.state.values()) if (s.firing) out.push({ alert: this.alert, labels: s.labels, since: s.since, value: s.value });
    return out;
  }

  isFiring(key: string): boolean {
    return this.state.get(key)?.firing === true;
  }

  /** Report the condition for one label set at instant t; emits a transition when its (damped) state changes. */
  protected set(
    out: Transition[],
    t: number,
    labels: Record<string, string>,
    fire: boolean,
    value: number,
    threshold: number,
    summary: (state: 'firing' | 'resolved') => string,
    details?: () => AlertDetails,
  ): void {
    const key = this.keyOf(labels);
    let s = this.state.get(key);
    if (!s) {
      if (!fire) return;
      s = { labels, firing: false, since: t, cond: false, condSince: t, value, threshold, summary, details };
      this.state.set(key, s);
    }
    s.value = value;
    s.threshold = threshold;
    s.summary = summary;
    s.details = details;
    if (fire !== s.cond) {
      s.cond = fire;
      s.condSince = t;
    }
    this.settle(out, t, key, s);
  }

  /** Emit the change of a label set whose condition differs from its emitted state, once its damping is served. */
  private settle(out: Transition[], t: number, key: string, s: KeyState): void {
    if (s.cond === s.firing) {
      this.pending.delete(key);
      if (!s.firing) this.state.delete(key);
      return;
    }
    const due = s.condSince + (s.cond ? this.damping.forMs : this.damping.keepFiringForMs);
    if (t < due) {
      this.pending.set(key, due);
      return;
    }
    this.pending.delete(key);
    s.firing = s.cond;
    s.since = due;
    const state = s.firing ? 'firing' : 'resolved';
    out.push(this.transition(key, s.labels, state, due, s.value, s.threshold, s.summary(state), s.details?.()));
    if (!s.firing) this.state.delete(key);
  }

  /** Deadlines due at t whose condition still holds (the rule's evaluate at t may already have settled them). */
  private settleDue(t: number, out: Transition[]): void {
    const due = [...this.pending].filter(([, d]) => d <= t).map(([k]) => k);
    for (const key of due.sort()) {
      const s = this.state.get(key);
      if (s) this.settle(out, t, key, s);
      else this.pending.delete(key);
    }
  }

  private readonly keys = new Map<string, string>();
  /** dedupKey of a label set, cached by its last label value (region, host or sha1: unique within one rule). */
  protected keyOf(labels: Record<string, string>): string {
    const id = labels.host ?? labels.sha1 ?? labels.region ?? '';
    let k = this.keys.get(id);
    if (k === undefined) {
      k = dedupKey(this.alert, labels);
      if (this.keys.size < 100_000) this.keys.set(id, k);
    }
    return k;
  }

  private transition(
    key: string,
    labels: Record<string, string>,
    state: 'firing' | 'resolved',
    t: number,
    value: number,
    threshold: number,
    summary: string,
    details: AlertDetails | undefined,
  ): Transition {
    const tr: Transition = {
      kind: 'transition',
      alert: this.alert,
      labels,
      state,
      at: toIso(t),
      value,
      threshold,
      severity: this.severity,
      dedupKey: key,
      summary,
    };
    if (details) tr.details = details;
    return tr;
  }
}

export const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * Base for rules over one sliding event-time window: the window's entry/exit instants are the breakpoints.
 * Subclasses choose which events enter (`accepts`) and evaluate the window's content.
 */
export abstract class WindowedRule<T extends SignEvent> extends BaseRule {
  protected readonly window: SlidingWindow<T>;

  constructor(alert: string, region: Region | 'fleet', severity: Severity, width: number, hooks?: WindowHooks<T>, damping?: Partial<Damping>) {
    super(alert, region, severity, damping);
    this.window = new SlidingWindow<T>(width, hooks);
  }

  protected abstract accepts(event: SignEvent): event is T;

  observe(event: SignEvent, ts: number): void {
    if (!this.accepts(event)) return;
    this.window.insert(ts, event);
    this.dirty = true;
  }

  protected nextChange(): number {
    return this.window.nextChange();
  }

  protected override seek(t: number): void {
    this.window.moveTo(t);
  }

  /**
   * The region's count in the window against `threshold` (fires when above), with the window's events as evidence:
   * the evaluate() of a counting alert. `evidence` adds one event's details (hosts, ids, error codes…).
   */
  protected reportCount(t: number, out: Transition[], n: number, threshold: number, summary: (s: 'firing' | 'resolved') => string, evidence: (d: DetailsBuilder, e: T) => void): void {
    this.set(out, t, { region: this.region }, n > threshold, n, threshold, summary, () => {
      const d = new DetailsBuilder();
      for (const e of this.window.entries()) evidence(d, e);
      return d.build();
    });
  }
}
