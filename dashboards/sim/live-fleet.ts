/**
 * A simulated fleet delivered over (compressed) time: the lead's seeded generator (services/simulate, demo
 * incidents: HK keychain lock at +1h, SG slow vault at +2h, US certificate 18 days from expiry) as wire lines,
 * each released once the virtual clock reaches the newest event time delivered before it (late and duplicate
 * lines therefore arrive late, as they would from agents).
 */
import type { Policy } from '../../services/engine/policy.js';
import { demoIncidents, simulate } from '../../services/simulate/simulate.js';
import { FleetMetrics } from './fleet-metrics.js';

export interface LiveFleetOptions {
  start: number;
  events: number;
  seed?: number;
  ratePerSecond?: number;
}

export class LiveFleet {
  readonly metrics: FleetMetrics;
  readonly lines: { due: number; line: string }[] = [];
  private next = 0;
  clock = 0;

  constructor(policy: Readonly<Policy>, readonly opts: LiveFleetOptions) {
    this.metrics = new FleetMetrics(policy);
    let due = opts.start;
    const gen = simulate({
      start: opts.start,
      events: opts.events,
      seed: opts.seed ?? 7,
      ratePerSecond: opts.ratePerSecond ?? 2,
      incidents: demoIncidents(opts.start),
      duplicateRate: 0.01,
      lateRate: 0.005,
      malformedRate: 0.002,
    });
    for (const line of gen) {
      const m = /"ts":"([^"]+)"/.exec(line);
      const ts = m ? Date.parse(m[1]!) : NaN;
      if (Number.isFinite(ts)) due = Math.max(due, ts);
      this.lines.push({ due, line });
    }
    this.clock = opts.start;
  }

  get end(): number {
    return this.lines.at(-1)?.due ?? this.opts.start;
  }

  /** Deliver every line due by `v` and move the engine clock to `v`. */
  advanceTo(v: number): void {
    while (this.next < this.lines.length && this.lines[this.next]!.due <= v) this.metrics.ingest(this.lines[this.next++]!.line);
    this.clock = Math.max(this.clock, v);
    this.metrics.advanceTo(this.clock);
  }

  /** The valid events delivered so far (for the event store). */
  delivered(): string[] {
    return this.lines.slice(0, this.next).map((l) => l.line);
  }
}
