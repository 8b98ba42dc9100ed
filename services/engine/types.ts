/**
 * The engine's contract: what goes in (validated SignEvents, clock ticks) and what comes out
 * (alert transitions, hourly aggregates). The engine does no I/O; the live processor (Kafka) and
 * `signwatch replay` (NDJSON) drive the same implementation and plug in their own Sink.
 */
import type { Region, SignEvent } from '../../schemas/events.js';
import type { Severity } from '../../schemas/alert.js';
import type { EncodedGraph } from './state-codec.js';
import type { DrillRecord } from './drill.js';

export type AlertState = 'firing' | 'resolved';

/** The evidence behind a transition: what a responder needs first. Sorted, de-duplicated, capped. */
export interface AlertDetails {
  hosts: string[];
  keychains: string[];
  partitionIds: string[];
  errorCodes: string[];
  correlationIds: string[];
  eventIds: string[];
  /** Facts of the alert's subject a responder or a ticket needs (a certificate's subject, kind, team, days left…). */
  facts?: Record<string, string | number>;
}

export interface Transition {
  kind: 'transition';
  /** The alert's name (its folder in services/engine/rules/). */
  alert: string;
  /** Always includes `region`; plus `host` or `sha1` for per-host / per-certificate alerts. */
  labels: Record<string, string>;
  state: AlertState;
  /** RFC 3339 UTC with ms: the exact instant the condition changed (event time). */
  at: string;
  value: number;
  threshold: number;
  severity: Severity;
  /** `signwatch/<alert>/<k=v,…>` (labels sorted by key): stable across restarts, shared by trigger and resolve. */
  dedupKey: string;
  summary: string;
  details?: AlertDetails;
  /**
   * Set on a page of the drilled certificate raised during a drill of its region (and on its resolve): the drill's
   * id. PagerDuty summaries then start with `[drill]`; the policy's `drill.freezes` says whether it freezes.
   */
  drillId?: string;
  /** Trace ids (W3C, 32 hex) of the events behind it, when they were traced (set by the processor, not the engine). */
  traceIds?: string[];
  /** W3C traceparent of the processor span that committed it (the notifier's spans are its children). */
  traceparent?: string;
}

export interface UnlockStats {
  count: number;
  failed: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  /** DDSketch (relative accuracy 1 %) as base64 protobuf: merge buckets from several partitions or instances. */
  sketch: string;
}

export interface HourlyAggregate {
  kind: 'hourly';
  /** Start of the UTC hour, RFC 3339. */
  hour: string;
  region: Region;
  /** null: the whole region. */
  host: string | null;
  /** true when the watermark closed the hour; false when flushed open (end of replay, shutdown). */
  final: boolean;
  /** 1 for the first emission; +1 each time a late event revises an already emitted bucket. */
  revision: number;
  events: number;
  late: number;
  codesign: { total: number; failed: number; keychainFailed: number; byErrorCode: Record<string, number> };
  unlock: UnlockStats;
  notarize: { accepted: number; invalid: number; rejected: number; error: number; errorByClass: Record<string, number> };
}

/** Where the engine's output goes. Called synchronously, in order. */
export interface Sink {
  transition(t: Transition): void;
  hourly(a: HourlyAggregate): void;
  /** A drilled region's change (services/engine/drill.ts); written beside the transitions (alert topic, replay). */
  drill?(d: DrillRecord): void;
}

export type OfferOutcome = 'accepted' | 'duplicate' | 'late' | 'expired' | 'future';

export interface EngineStats {
  accepted: number;
  duplicate: number;
  /** Older than the region watermark − allowed lateness: aggregated, never paged. */
  late: number;
  /** Older than hourly retention: too old even for the hourly aggregates (still stored by the store sink). */
  expired: number;
  /** Stamped more than maxFutureSkew ahead of the reference time: rejected (dead-lettered live), blames the host's clock. */
  future: number;
  transitions: number;
}

/** Current values per region for gauges (/metrics) and the terminal view. */
export interface RegionSnapshot {
  region: Region;
  clock: string | null;
  firing: { alert: string; labels: Record<string, string>; since: string; value: number }[];
  /** Every reading of every rule gauge of the region (rules/<alert>/index.ts `gauges`); labels include `region`. */
  gauges: { name: string; labels: Record<string, string>; value: number }[];
}

/**
 * Lifecycle: construct → offer()/advanceTo() any number of times → flush() (idempotent; emits open buckets).
 * Deterministic: the same events in the same order with the same advanceTo() calls give the same output.
 */
export interface AlertEngine {
  /**
   * `refMs` is the event's reference time (the broker's append time of its record live; the record time or the wall
   * clock in replay): an event with ts > refMs + maxFutureSkew is 'future' and changes nothing but its host's
   * clock_skew evidence. Without refMs the event time is trusted (tests of window semantics).
   */
  offer(event: SignEvent, refMs?: number): OfferOutcome;
  /**
   * An event already accepted by its region's partition, for the fleet's alerts (the processor's fleet partition):
   * deduplicated by id, observed on the fleet's clock. 'ignored' when no fleet alert observes its type.
   */
  offerFleet(event: SignEvent): 'accepted' | 'duplicate' | 'ignored';
  /** Move every region's clock to `nowMs` (wall clock live, `--until` in replay); emits what resolves/fires. */
  advanceTo(nowMs: number): void;
  flush(): void;
  readonly stats: Readonly<EngineStats>;
  snapshot(): RegionSnapshot[];
  /**
   * The whole state as data (services/engine/state-codec.ts), or null while it cannot be saved exactly (a damping
   * deadline is pending): restoring it into a new engine of the same policy and registry continues identically.
   */
  saveState(): EngineState | null;
  /** Restore a saveState() of an engine built alike, into this new engine (nothing offered yet); throws SW_ENGINE_STATE. */
  loadState(state: EngineState): void;
}

/** A saved engine state: `shape` must equal the restoring engine's stateShape(). */
export interface EngineState {
  shape: string;
  graph: EncodedGraph;
}
