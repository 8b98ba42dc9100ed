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
  add(field: keyof AlertDetails, value: string | undefined): this {
    if (value !== undefined && value !== '') this.sets[field].add(value);
    return this;
  }
  build(): AlertDetails {
    const out = {} as AlertDetails;
    for (const [k, s] of Object.entries(this.sets) as [keyof AlertDetails, Set<string>][]) {
      out[k] = [...s].sort().slice(0, CAP);
    }
    return out;
  }
}

interface State {
  labels: Record<string, string>;
  since: number;
  value: number;
}

/**
 * Base for rules: tracks which label sets fire, emits transitions on change, and runs the breakpoint walk.
 * Subclasses implement nextChange() (next instant > pos where the condition may change) and evaluate(t).
 */
export abstract class BaseRule implements Rule {
  protected pos = -Infinity;
  protected dirty = false;
  private readonly state = new Map<string, State>();
  protected readonly severity: Severity;

  constructor(
    readonly alert: string,
    protected readonly region: Region,
    severity: Severity,
  ) {
    this.severity = severity;
  }

  get clock(): number {
    return this.pos;
  }

  abstract observe(event: SignEvent, ts: number): void;
  protected abstract nextChange(): number;
  protected abstract evaluate(t: number, out: Transition[]): void;
  /** Move internal windows to t without evaluating (nothing changes between breakpoints). */
  protected seek(_t: number): void {}

  /** nextChange() as of the last evaluation; valid until the next observe() (which sets dirty) or evaluate(). */
  private next = -Infinity;

  advance(to: number, out: Transition[]): void {
    if (!this.dirty && this.next > to) {
      // fast path: nothing observed, no breakpoint before `to`
      if (to > this.pos) {
        this.pos = to;
        this.seek(to);
      }
      return;
    }
    for (;;) {
      const b = this.nextChange();
      if (!(b <= to)) {
        this.next = b;
        break;
      }
      if (b <= this.pos) throw new CodedError('SW_ENGINE_STALLED', `rule ${this.alert} reported breakpoint ${b} ≤ its clock ${this.pos}`);
      this.pos = b;
      this.evaluate(b, out);
    }
    if (to > this.pos) {
      this.pos = to;
      this.seek(to);
    }
    if (this.dirty) {
      this.dirty = false;
      this.evaluate(this.pos, out);
      this.next = this.nextChange();
    }
  }

  firing(): FiringInfo[] {
    return [...this.state.values()].map((s) => ({ alert: this.alert, labels: s.labels, since: s.since, value: s.value }));
  }

  isFiring(key: string): boolean {
    return this.state.has(key);
  }

  /** Report the condition for one label set at instant t; emits a transition if its state changed. */
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
    const cur = this.state.get(key);
    if (fire && !cur) {
      this.state.set(key, { labels, since: t, value });
      out.push(this.transition(key, labels, 'firing', t, value, threshold, summary('firing'), details?.()));
    } else if (!fire && cur) {
      this.state.delete(key);
      out.push(this.transition(key, labels, 'resolved', t, value, threshold, summary('resolved'), details?.()));
    } else if (cur) {
      cur.value = value;
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

  /** Label sets currently firing (to resolve those whose subject disappeared). */
  protected firingKeys(): IterableIterator<[string, State]> {
    return this.state.entries();
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

  constructor(alert: string, region: Region, severity: Severity, width: number, hooks?: WindowHooks<T>) {
    super(alert, region, severity);
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
}
