/**
 * The processor's topology, in one place. For every record of one events partition:
 *
 *   source record ─▶ validate (size → JSON → wire schema) ──bad──▶ dead-letter topic (reason + source in headers)
 *                         │ ok
 *                         ▼
 *                    clock (wall mode: broker append time) ─▶ engine.offer (dedup → lateness → windows → rules)
 *                                                                   │
 *                          ┌────────────────────────────────────────┼──────────────────────────┐
 *                          ▼                                        ▼                          ▼
 *                  alert transitions topic                 hourly aggregates topic       /metrics (counters,
 *                  (key = dedupKey)                        (key = region/host/hour)       per-region gauges)
 *
 * The event store is not written here: its writer (services/query/store-writer.ts) reads the events topic in its own
 * consumer group, so a slow store never delays a page.
 *
 * plus `tick(now)` (wall mode, idle partitions) that moves the engine's clock so quiet regions resolve.
 * Wall mode runs the engine clock `clockDelay` behind the broker/wall clock, so that an event read within that
 * delay is evaluated at its own time.
 *
 * A pipeline is pure apart from metrics and logs: it appends what it wants written to `out`, and the caller
 * (processor.ts) writes `out` and the consumer offset in one Kafka transaction. While rebuilding state after an
 * assignment, records are processed with `live = false`: the engine state is rebuilt, the outputs (already
 * committed by the previous owner) are discarded. Adding a sink = one more branch in `sink` below.
 */
import type { Region } from '../../schemas/events.js';
import type { Policy } from '../engine/policy.js';
import { parseEventFast } from '../../schemas/validate.js';
import { createEngine } from '../engine/engine.js';
import { futureReason } from '../engine/time.js';
import type { Registry } from '../engine/rules/index.js';
import type { AlertEngine, HourlyAggregate, RegionSnapshot, Sink, Transition } from '../engine/types.js';
import type { Logger } from '../platform/logger.js';
import type { ProcessorMetrics } from './metrics.js';

/** One record read from the events topic. */
export interface SourceRecord {
  topic: string;
  partition: number;
  offset: string;
  /** Record timestamp (ms): the broker's append time when the topic uses LogAppendTime. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
}

/** One record to write, with what it counts as once committed. */
export interface OutRecord {
  topic: string;
  key: string | Buffer | null;
  value: string | Buffer;
  headers?: Record<string, string>;
  counts: { kind: 'transition'; transition: Transition } | { kind: 'hourly' } | { kind: 'dead-letter'; reason: string };
}

export interface TopologyOptions {
  policy: Readonly<Policy>;
  topics: { alerts: string; hourly: string; dlq: string };
  clock: 'wall' | 'event';
  /** Wall mode: the engine clock follows the append time minus this (ms). */
  clockDelay: number;
  maxEventBytes: number;
  metrics: ProcessorMetrics;
  log: Logger;
  /** The alert registry (default: the built-in alerts); the policy must have been parsed with it. */
  rules?: Registry;
  /**
   * What a record's timestamp is: `broker` (the events topic uses LogAppendTime: the broker's clock, the same on
   * every re-read) or `producer` (CreateTime: whatever the producer claimed, so it is bounded by `now()`, the
   * processor's wall clock, before it may move a clock or judge an event's time). Default `broker`.
   */
  recordTime?: 'broker' | 'producer';
  now?: () => number;
}

export interface PartitionPipeline {
  /**
   * Process one record; appends its outputs to `out` when live, discards them when rebuilding.
   */
  record(r: SourceRecord, live: boolean, out: OutRecord[]): void;
  /** Move the engine clock to `nowMs` (wall mode). */
  tick(nowMs: number, live: boolean, out: OutRecord[]): void;
  /** Snapshots of the regions this partition has seen. */
  snapshot(): RegionSnapshot[];
  readonly engine: AlertEngine;
}

export const DLQ_HEADERS = {
  reason: 'signwatch-reason',
  topic: 'signwatch-source-topic',
  partition: 'signwatch-source-partition',
  offset: 'signwatch-source-offset',
  timestamp: 'signwatch-source-timestamp',
} as const;

export function hourlyKey(a: HourlyAggregate): string {
  return `${a.region}/${a.host ?? '*'}/${a.hour}`;
}

export function createPipeline(opts: TopologyOptions): PartitionPipeline {
  const { policy, topics, metrics, log } = opts;
  const seen = new Set<Region>();
  /** Where the engine's output goes right now: the caller's batch, or nowhere while rebuilding. */
  let target: OutRecord[] | null = null;
  let lastAdvance = -Infinity;

  // ── sinks ──────────────────────────────────────────────────────────────────────────────────────────
  const sink: Sink = {
    transition(t) {
      if (!target) return;
      target.push({ topic: topics.alerts, key: t.dedupKey, value: JSON.stringify(t), counts: { kind: 'transition', transition: t } });
      log.info(
        {
          dedupKey: t.dedupKey,
          state: t.state,
          at: t.at,
          value: t.value,
          correlationIds: t.details?.correlationIds,
          hosts: t.details?.hosts,
          keychains: t.details?.keychains,
          partitionIds: t.details?.partitionIds,
          errorCodes: t.details?.errorCodes,
        },
        `alert ${t.alert} ${t.state}`,
      );
    },
    hourly(a) {
      if (!target) return;
      target.push({ topic: topics.hourly, key: hourlyKey(a), value: JSON.stringify(a), counts: { kind: 'hourly' } });
    },
  };
  const engine = createEngine(policy, sink, opts.rules ? { rules: opts.rules } : {});
  const now = opts.now ?? Date.now;
  /** The record's reference time: the broker's append time, or a producer's claim never later than our clock. */
  const referenceTime = (r: SourceRecord): number => (opts.recordTime === 'producer' ? Math.min(r.timestamp, now()) : r.timestamp);

  // ── dead letters ───────────────────────────────────────────────────────────────────────────────────
  /** `invalid`: the record failed validation (counted as invalid); a future-stamped valid event is not. */
  const deadLetter = (r: SourceRecord, reason: string, live: boolean, out: OutRecord[], invalid = true) => {
    if (!live) return;
    if (invalid) metrics.onInvalid(reason);
    out.push({
      topic: topics.dlq,
      key: r.key,
      value: r.value ?? Buffer.alloc(0),
      headers: {
        [DLQ_HEADERS.reason]: reason.slice(0, 1000),
        [DLQ_HEADERS.topic]: r.topic,
        [DLQ_HEADERS.partition]: String(r.partition),
        [DLQ_HEADERS.offset]: r.offset,
        [DLQ_HEADERS.timestamp]: String(r.timestamp),
      },
      counts: { kind: 'dead-letter', reason },
    });
    log.warn({ offset: r.offset, reason }, 'dead-lettered');
  };

  return {
    engine,
    record(r, live, out) {
      // validate
      if (r.value === null || r.value.length === 0) return deadLetter(r, 'empty: record has no value', live, out);
      if (r.value.length > opts.maxEventBytes) return deadLetter(r, `oversized: ${r.value.length} bytes > ${opts.maxEventBytes}`, live, out);
      const text = r.value.toString('utf8');
      const parsed = parseEventFast(text, opts.maxEventBytes);
      if (!parsed.ok) return deadLetter(r, parsed.reason, live, out);
      const event = parsed.event;
      seen.add(event.region);
      target = live ? out : null;
      try {
        // clock: in wall mode the engine also follows the broker's append time, minus clockDelay (deterministic on
        // re-read: the same records carry the same append times)
        const ref = referenceTime(r);
        if (opts.clock === 'wall' && ref > lastAdvance) {
          lastAdvance = ref;
          engine.advanceTo(ref - opts.clockDelay);
        }
        // the record's broker timestamp is the event's reference time: an event stamped beyond it + maxFutureSkew
        // moves no clock and enters no window (docs/engine.md, "Bounded event time")
        const outcome = engine.offer(event, ref);
        metrics.onEvent(event, outcome, live);
        if (outcome === 'future') deadLetter(r, futureReason(event.ts, ref, policy.maxFutureSkew), live, out, false);
      } finally {
        target = null;
      }
    },
    tick(nowMs, live, out) {
      target = live ? out : null;
      try {
        engine.advanceTo(nowMs);
      } finally {
        target = null;
      }
    },
    snapshot() {
      return engine.snapshot().filter((s) => seen.has(s.region));
    },
  };
}
