/**
 * Every alert's timeline as the console has read it from the alert topic (fed by ConsoleState.apply, so it is
 * rebuilt from the beginning of the topic on every start like the Fleet page): per dedup key, its transitions (the
 * last MAX_TRANSITIONS) and the evidence of all of them. The Alert page (services/console/routes/alert.ts) reads it.
 * Bounded: at most MAX_KEYS keys (the least recently changed is forgotten first), MAX_EVIDENCE items of each kind.
 * Lifecycle: none (no timers or I/O).
 */
import type { Transition } from '../engine/types.js';
import type { WireAlertSummary, WireEvidence, WireTransition } from './pages-wire.js';

export const MAX_TRANSITIONS = 200;
export const MAX_KEYS = 5000;
export const MAX_EVIDENCE = 50;

export interface AlertRecord {
  dedupKey: string;
  alert: string;
  labels: Record<string, string>;
  severity: string;
  timeline: WireTransition[];
  transitions: number;
  evidence: WireEvidence;
}

function addAll(into: string[], xs: readonly string[] | undefined): void {
  for (const x of xs ?? []) if (into.length < MAX_EVIDENCE && !into.includes(x)) into.push(x);
}

/** `k=v` of the labels other than region, sorted by key. */
export function subjectOf(labels: Record<string, string>): string {
  return Object.keys(labels)
    .filter((k) => k !== 'region')
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

export class AlertHistory {
  /** Insertion order = least recently changed first (a change re-inserts the key). */
  private readonly byKey = new Map<string, AlertRecord>();

  apply(t: Transition): void {
    let r = this.byKey.get(t.dedupKey);
    if (r) this.byKey.delete(t.dedupKey);
    else {
      r = {
        dedupKey: t.dedupKey,
        alert: t.alert,
        labels: { ...t.labels },
        severity: t.severity,
        timeline: [],
        transitions: 0,
        evidence: { hosts: [], keychains: [], errorCodes: [], correlationIds: [], eventIds: [], facts: {} },
      };
      if (this.byKey.size >= MAX_KEYS) {
        const oldest = this.byKey.keys().next().value;
        if (oldest !== undefined) this.byKey.delete(oldest);
      }
    }
    this.byKey.set(t.dedupKey, r);
    r.severity = t.severity;
    r.transitions++;
    const item: WireTransition = { state: t.state, at: t.at, value: t.value, threshold: t.threshold, severity: t.severity, summary: t.summary };
    if (t.drillId !== undefined) item.drillId = t.drillId;
    // the topic is in order per key; a replayed older record still lands at its place in time
    let i = r.timeline.length;
    while (i > 0 && r.timeline[i - 1]!.at > t.at) i--;
    r.timeline.splice(i, 0, item);
    if (r.timeline.length > MAX_TRANSITIONS) r.timeline.splice(0, r.timeline.length - MAX_TRANSITIONS);
    const d = t.details;
    if (d) {
      addAll(r.evidence.hosts, d.hosts);
      addAll(r.evidence.keychains, d.keychains);
      addAll(r.evidence.errorCodes, d.errorCodes);
      addAll(r.evidence.correlationIds, d.correlationIds);
      addAll(r.evidence.eventIds, d.eventIds);
      for (const [k, v] of Object.entries(d.facts ?? {})) {
        if (Object.keys(r.evidence.facts).length >= MAX_EVIDENCE && !Object.hasOwn(r.evidence.facts, k)) break;
        if (k !== '__proto__') r.evidence.facts[k] = v;
      }
    }
  }

  get(dedupKey: string): AlertRecord | undefined {
    return this.byKey.get(dedupKey);
  }

  /** Every key, most recently changed first. */
  list(): WireAlertSummary[] {
    const out: WireAlertSummary[] = [];
    for (const r of this.byKey.values()) {
      const last = r.timeline[r.timeline.length - 1]!;
      out.push({ dedupKey: r.dedupKey, alert: r.alert, region: r.labels.region ?? '', subject: subjectOf(r.labels), state: last.state, at: last.at });
    }
    return out.reverse();
  }

  get size(): number {
    return this.byKey.size;
  }
}
