/**
 * unlock_latency_p95{region}: fires when the exact p95 (nearest rank: the ⌈0.95·n⌉-th smallest) of unlock durationMs
 * in the trailing window is > thresholdMs and at least minSamples unlocks are in the window; resolves when either
 * stops holding. Exact, not sketched, so that the page sits exactly on the policy's threshold; the hourly aggregates
 * use a mergeable DDSketch instead.
 */
import type { Region, SignEvent, UnlockEvent } from '../../../../schemas/events.js';
import { dampingOf } from '../../../../schemas/alert.js';
import { formatDuration } from '../../../platform/duration.js';
import type { Config } from './policy.js';
import { DetailsBuilder, WindowedRule } from '../../rule.js';
import type { Transition } from '../../types.js';

function lowerBound(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (a[m]! < x) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/** Nearest-rank quantile of a sorted array (null when empty). */
export function nearestRank(sorted: readonly number[], q: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil(q * n));
  return sorted[Math.min(rank, n) - 1]!;
}

export class UnlockLatency extends WindowedRule<UnlockEvent> {
  private readonly sorted: number[];
  private readonly labels: Record<string, string>;

  constructor(
    region: Region,
    private readonly cfg: Config,
  ) {
    const sorted: number[] = [];
    super(
      'unlock_latency_p95',
      region,
      cfg.severity,
      cfg.window,
      {
        enter: (e) => sorted.splice(lowerBound(sorted, e.durationMs), 0, e.durationMs),
        leave: (e) => sorted.splice(lowerBound(sorted, e.durationMs), 1),
      },
      dampingOf(cfg),
    );
    this.sorted = sorted;
    this.labels = { region };
  }

  protected accepts(event: SignEvent): event is UnlockEvent {
    return event.type === 'unlock';
  }

  get p95(): number | null {
    return nearestRank(this.sorted, this.cfg.quantile);
  }

  get samples(): number {
    return this.sorted.length;
  }

  protected evaluate(t: number, out: Transition[]): void {
    this.window.moveTo(t);
    const n = this.sorted.length;
    const p = nearestRank(this.sorted, this.cfg.quantile);
    const { thresholdMs, minSamples } = this.cfg;
    const fire = n >= minSamples && p !== null && p > thresholdMs;
    this.set(
      out,
      t,
      this.labels,
      fire,
      p ?? 0,
      thresholdMs,
      (s) =>
        s === 'firing'
          ? `${this.region}: unlock helper p95 ${p} ms over ${n} unlocks in the trailing ${formatDuration(this.cfg.window)} (> ${thresholdMs} ms): check vault or disk contention`
          : `${this.region}: unlock helper p95 back to ${p ?? 'n/a'} ms over ${n} unlocks`,
      () => {
        const d = new DetailsBuilder();
        for (const e of this.window.entries()) {
          if (e.durationMs > thresholdMs) d.add('hosts', e.host).add('keychains', e.keychain).add('eventIds', e.id);
          d.add('errorCodes', e.error?.code).add('correlationIds', e.correlationId);
        }
        return d.build();
      },
    );
  }
}