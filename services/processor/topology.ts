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
 *                  (key = dedupKey; drill records:         (key = region/host/hour)       per-region gauges)
 *                   key = signwatch/drill/<id>/<region>)
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
import type { Region, SignEvent } from '../../schemas/events.js';
import type { Policy } from '../engine/policy.js';
import { parseEventFast } from '../../schemas/validate.js';
import { createEngine, type EngineScope } from '../engine/engine.js';
import { futureReason } from '../engine/time.js';
import type { Registry } from '../engine/rules/index.js';
import type { AlertEngine, EngineState, HourlyAggregate, RegionSnapshot, Sink, Transition } from '../engine/types.js';
import { drillKey } from '../engine/drill.js';
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
  /** The record's own headers (kept on its dead letter; a rerouted copy is recognised by one). */
  headers?: RecordHeaders;
}

export type HeaderValue = string | Buffer | (string | Buffer)[];
export type RecordHeaders = Record<string, HeaderValue | undefined>;

/** One record to write, with what it counts as once committed. */
export interface OutRecord {
  topic: string;
  /** Set for records forwarded to their region's events partition; others go where their key hashes. */
  partition?: number;
  key: string | Buffer | null;
  value: string | Buffer;
  headers?: Record<string, HeaderValue>;
  counts: { kind: 'transition'; transition: Transition; /** W3C traceparent of the record that caused it (its ship span), if traced. */ cause?: string } | { kind: 'hourly' } | { kind: 'drill' } | { kind: 'dead-letter'; reason: string } | { kind: 'rerouted'; region: string } | { kind: 'fleet' };
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
  /**
   * The events topic and the partition a region's events belong in (its key's partition with signwatch's
   * partitioner). A valid event read from another partition is forwarded there instead of being processed here.
   */
  events?: { topic: string; partitionOf(region: string): number | undefined };
  /** The alert registry (default: the built-in alerts); the policy must have been parsed with it. */
  rules?: Registry;
  /**
   * Which alerts this pipeline runs: `all` (one partition holds the whole fleet), `region` (an events partition
   * whose fleet alerts run elsewhere: its accepted events of the types in `fleet.types` are forwarded to `fleet.topic`)
   * or `fleet` (the fleet topic's one partition: the fleet alerts over every region's forwarded events). Default `all`.
   */
  scope?: EngineScope;
  fleet?: { topic: string; types: ReadonlySet<string> };
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
  /** The marker record of a batch the client could not decode: one dead letter naming the partition and offsets. */
  undecodable(r: SourceRecord, batch: { firstOffset: string; lastOffset: string; codec: string; records: number; why: string }, live: boolean, out: OutRecord[]): void;
  /** Move the engine clock to `nowMs` (wall mode). */
  tick(nowMs: number, live: boolean, out: OutRecord[]): void;
  /** Snapshots of the regions this partition has seen. */
  snapshot(): RegionSnapshot[];
  /** The pipeline's whole state (engine + its own clock and regions seen), or null while it cannot be saved exactly. */
  saveState(): PipelineState | null;
  /** Restore a saveState() into this new pipeline (nothing processed yet); throws SW_ENGINE_STATE. */
  loadState(s: PipelineState): void;
  readonly engine: AlertEngine;
}

export interface PipelineState {
  engine: EngineState;
  seen: Region[];
  /** null: -Infinity */
  lastAdvance: number | null;
}

export const DLQ_HEADERS = {
  reason: 'signwatch-reason',
  topic: 'signwatch-source-topic',
  partition: 'signwatch-source-partition',
  offset: 'signwatch-source-offset',
  timestamp: 'signwatch-source-timestamp',
  /** undecodable_batch: the batch's last offset (`signwatch-source-offset` is its first). */
  lastOffset: 'signwatch-source-last-offset',
  /** Set on a dead letter whose key/value had to be cut to fit the dead-letter topic's max.message.bytes. */
  truncated: 'signwatch-truncated',
  /** The original value's length in bytes (with `signwatch-truncated`). */
  originalLength: 'signwatch-original-length',
  /** On a valid event forwarded to its region's partition: `<partition>/<offset>` it was read at. */
  reroutedFrom: 'signwatch-rerouted-from',
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
  /** The record being processed: its `traceparent` header (or its event's), the parent of a transition it causes. */
  let cause: string | undefined;
  /** Trace id of each recent traced event of this partition (by event id): the evidence a transition carries. */
  const traceIds = new Map<string, string>();
  const TRACE_IDS_KEPT = 65_536;
  const evidence = (t: Transition): string[] | undefined => {
    const out = new Set<string>();
    const own = cause?.slice(3, 35);
    if (own) out.add(own);
    for (const id of t.details?.eventIds ?? []) {
      const tid = traceIds.get(id);
      if (tid) out.add(tid);
    }
    return out.size ? [...out].slice(0, 64) : undefined;
  };

  // ── sinks ──────────────────────────────────────────────────────────────────────────────────────────
  const sink: Sink = {
    transition(t) {
      if (!target) return;
      const ids = evidence(t);
      if (ids) t.traceIds = ids;
      target.push({ topic: topics.alerts, key: t.dedupKey, value: JSON.stringify(t), counts: { kind: 'transition', transition: t, ...(cause ? { cause } : {}) } });
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
    drill(d) {
      if (!target) return;
      // beside the transitions, on the alert topic: the gate and the notifier skip them, `drill status|report` read them
      target.push({ topic: topics.alerts, key: drillKey(d), value: JSON.stringify(d), counts: { kind: 'drill' } });
      log.info({ drillId: d.drillId, region: d.region, state: d.state, at: d.at, timeToGreenMs: d.timeToGreenMs, pendingHosts: d.pendingHosts.length }, `drill ${d.state}`);
    },
  };
  const scope = opts.scope ?? 'all';
  /**
   * The fleet partition reads the events partitions' forwards interleaved batch by batch, not in event time; the
   * fleet alerts must see them in event-time order, as replay does. Forwarded events wait here until the fleet's
   * watermark passes them: in event mode the newest forwarded time − allowedLateness (the events partitions may be
   * that far apart), in wall mode the engine's wall clock. Deterministic on re-read: the fleet topic's order is fixed.
   */
  const reorder = new ReorderBuffer((e) => engine.offerFleet(e));
  const engine = createEngine(policy, sink, { scope, ...(opts.rules ? { rules: opts.rules } : {}) });
  const now = opts.now ?? Date.now;
  /** The record's reference time: the broker's append time, or a producer's claim never later than our clock. */
  const referenceTime = (r: SourceRecord): number => (opts.recordTime === 'producer' ? Math.min(r.timestamp, now()) : r.timestamp);

  // ── dead letters ───────────────────────────────────────────────────────────────────────────────────
  /** `invalid`: the record failed validation (counted as invalid); a future-stamped valid event is not. */
  const deadLetter = (r: SourceRecord, reason: string, live: boolean, out: OutRecord[], invalid = true) => {
    if (!live) return;
    if (invalid) metrics.onInvalid(reason);
    const own = Object.create(null) as Record<string, HeaderValue>; // header names are input
    for (const [k, v] of Object.entries(r.headers ?? {})) if (v !== undefined) own[k] = v;
    out.push({
      topic: topics.dlq,
      key: r.key,
      value: r.value ?? Buffer.alloc(0),
      headers: {
        ...own,
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
      if (scope === 'fleet') {
        // the fleet partition: events the region partitions accepted and forwarded (validated and bounded there),
        // put back in event-time order before the fleet alerts see them
        seen.add(event.region);
        target = live ? out : null;
        try {
          reorder.add(event);
          const ref = referenceTime(r);
          if (opts.clock === 'wall') {
            if (ref > lastAdvance) {
              lastAdvance = ref;
              reorder.release(ref - opts.clockDelay);
              engine.advanceTo(ref - opts.clockDelay);
            }
          } else reorder.release(reorder.maxSeen - policy.allowedLateness);
        } finally {
          target = null;
        }
        return;
      }
      // route: a valid event in another partition than its region's is forwarded there, inside this batch's
      // transaction, and processed only there (docs/processor.md, "Events in the wrong partition")
      const home = opts.events?.partitionOf(event.region);
      if (opts.events && home !== undefined && home !== r.partition && r.headers?.[DLQ_HEADERS.reroutedFrom] === undefined) {
        if (live) {
          const headers = Object.create(null) as Record<string, HeaderValue>; // header names are input
          for (const [k, v] of Object.entries(r.headers ?? {})) if (v !== undefined) headers[k] = v;
          headers[DLQ_HEADERS.reroutedFrom] = `${r.partition}/${r.offset}`;
          out.push({ topic: opts.events.topic, partition: home, key: event.region, value: r.value, headers, counts: { kind: 'rerouted', region: event.region } });
        }
        return;
      }
      seen.add(event.region);
      // trace context: the record's header (the daemon's ship span), else the event's own (the call's span)
      const h = r.headers?.traceparent;
      const tp = typeof h === 'string' ? h : Buffer.isBuffer(h) ? h.toString('latin1') : event.traceparent;
      if (tp !== undefined && tp.length === 55) {
        if (traceIds.size >= TRACE_IDS_KEPT) traceIds.delete(traceIds.keys().next().value as string);
        traceIds.set(event.id, tp.slice(3, 35));
        cause = tp;
      }
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
        // a fleet alert's input goes on to the fleet partition, in this batch's transaction (exactly once: forwarded
        // only live, i.e. from the committed offset on; the fleet engine also drops a repeated id)
        if (live && outcome === 'accepted' && opts.fleet?.types.has(event.type)) {
          out.push({ topic: opts.fleet.topic, partition: 0, key: event.region, value: r.value, counts: { kind: 'fleet' } });
        }
        if (outcome === 'future') deadLetter(r, futureReason(event.ts, ref, policy.maxFutureSkew), live, out, false);
      } finally {
        target = null;
        cause = undefined;
      }
    },
    undecodable(r, b, live, out) {
      if (!live) return;
      const reason = `undecodable_batch: offsets ${b.firstOffset}..${b.lastOffset} (${b.records} records, ${b.codec}): ${b.why}`;
      out.push({
        topic: topics.dlq,
        key: null,
        value: JSON.stringify({ ...b, topic: r.topic, partition: r.partition }),
        headers: {
          [DLQ_HEADERS.reason]: reason.slice(0, 1000),
          [DLQ_HEADERS.topic]: r.topic,
          [DLQ_HEADERS.partition]: String(r.partition),
          [DLQ_HEADERS.offset]: b.firstOffset,
          [DLQ_HEADERS.lastOffset]: b.lastOffset,
          [DLQ_HEADERS.timestamp]: String(r.timestamp),
        },
        counts: { kind: 'dead-letter', reason },
      });
      log.error({ firstOffset: b.firstOffset, lastOffset: b.lastOffset, records: b.records, codec: b.codec, why: b.why }, 'undecodable record batch: dead-lettered and skipped');
    },
    tick(nowMs, live, out) {
      target = live ? out : null;
      try {
        if (scope === 'fleet') reorder.release(nowMs);
        engine.advanceTo(nowMs);
      } finally {
        target = null;
      }
    },
    snapshot() {
      return engine.snapshot().filter((s) => seen.has(s.region));
    },
    saveState() {
      const e = engine.saveState();
      return e && { engine: e, seen: [...seen], lastAdvance: Number.isFinite(lastAdvance) ? lastAdvance : null };
    },
    loadState(st) {
      engine.loadState(st.engine);
      for (const r of st.seen) seen.add(r);
      lastAdvance = st.lastAdvance ?? -Infinity;
    },
  };
}

/** Events held until a watermark passes them, then handed on in (time, arrival) order. */
class ReorderBuffer {
  private readonly held: { ts: number; seq: number; event: SignEvent }[] = [];
  private seq = 0;
  maxSeen = -Infinity;
  constructor(private readonly deliver: (e: SignEvent) => unknown) {}

  add(event: SignEvent): void {
    const ts = Date.parse(event.ts);
    if (ts > this.maxSeen) this.maxSeen = ts;
    const item = { ts, seq: this.seq++, event };
    // forwards arrive nearly in order: search from the end
    let i = this.held.length;
    while (i > 0 && this.held[i - 1]!.ts > ts) i--;
    this.held.splice(i, 0, item);
  }

  /** Hand on every held event stamped at or before `watermark`. */
  release(watermark: number): void {
    let n = 0;
    while (n < this.held.length && this.held[n]!.ts <= watermark) n++;
    if (n === 0) return;
    for (const h of this.held.splice(0, n)) this.deliver(h.event);
  }
}
