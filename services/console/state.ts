/**
 * The console's view of the fleet: the release gate's state per region (the same fold as `gate serve`, rebuilt
 * from the alert topic on every start) plus every firing alert with its evidence. Listeners hear about every change,
 * coalesced: a replay of thousands of transitions at start-up notifies once per event-loop turn, not once per record.
 * Lifecycle: none (no timers or I/O); construct, apply(), read snapshot().
 */
import { ReleaseGate } from '../alerting/release-gate.js';
import type { Policy } from '../engine/policy.js';
import type { Transition } from '../engine/types.js';
import type { WireAlert, WireFleet } from './wire.js';
import { AlertHistory } from './history.js';

const MAX_EVIDENCE = 20;

export class ConsoleState {
  readonly gate: ReleaseGate;
  /** Every alert's timeline and evidence (the Alert page). */
  readonly history = new AlertHistory();
  private readonly firing = new Map<string, { since: string; t: Transition }>();
  private readonly listeners = new Set<() => void>();
  private pending = false;
  applied = 0;

  constructor(policy: Readonly<Policy>) {
    this.gate = new ReleaseGate(policy);
  }

  apply(t: Transition): void {
    this.applied++;
    this.gate.apply(t);
    this.history.apply(t);
    if (t.state === 'firing') {
      const prev = this.firing.get(t.dedupKey);
      this.firing.set(t.dedupKey, { since: prev && prev.since < t.at ? prev.since : t.at, t });
    } else {
      this.firing.delete(t.dedupKey);
    }
    this.changed();
  }

  /** Called (once per event-loop turn at most) after the state changed; returns the unsubscribe function. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  private changed(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      for (const fn of this.listeners) fn();
    });
  }

  snapshot(user: string): WireFleet {
    const cap = (xs: readonly string[] | undefined) => (xs ?? []).slice(0, MAX_EVIDENCE);
    const alerts: WireAlert[] = [...this.firing.values()]
      .sort((a, b) => a.since.localeCompare(b.since) || a.t.dedupKey.localeCompare(b.t.dedupKey))
      .map(({ since, t }) => ({
        alert: t.alert,
        dedupKey: t.dedupKey,
        region: t.labels.region ?? '',
        severity: t.severity,
        since,
        summary: t.summary,
        value: t.value,
        threshold: t.threshold,
        hosts: cap(t.details?.hosts),
        keychains: cap(t.details?.keychains),
        errorCodes: cap(t.details?.errorCodes),
        correlationIds: cap(t.details?.correlationIds),
      }));
    const regions = this.gate.states().map((s) => ({
      region: s.region,
      frozen: s.frozen,
      since: s.since,
      reasons: s.reasons.map((r) => ({ alert: r.alert, dedupKey: r.dedupKey, since: r.since, summary: r.summary })),
      override: s.override ? { by: s.override.by, reason: s.override.reason, until: s.override.until } : null,
    }));
    return { user, applied: this.applied, regions, alerts };
  }
}
