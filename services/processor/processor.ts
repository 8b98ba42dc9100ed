/**
 * The live processor: a kafkajs consumer group over the events topic, one pipeline (engine) per assigned
 * partition, and one transactional producer per partition.
 *
 * Effectively once (see docs/processor.md):
 * - Each batch's outputs (transitions, hourly aggregates, dead letters) and the partition's consumer offset are
 *   written in ONE Kafka transaction. A crash happens before or after it, never halfway; readers of the output
 *   topics read committed records only.
 * - The transactional id is per events partition (`<prefix>.<topic>.<partition>`), so the instance that takes a
 *   partition over fences the previous owner (a paused zombie cannot commit any more) and aborts its open
 *   transaction at once, instead of leaving read_committed readers blocked until the transaction timeout.
 * - On assignment: fence first (init the producer), then read the committed offset C (now stable), then rebuild
 *   the engine state by re-reading the partition from S ≤ C (the log start, or C's record time − the state horizon)
 *   with outputs discarded up to C; from C on, outputs are written again. The engine is deterministic, so the
 *   state at C equals the one the previous owner had, and nothing before C is written twice.
 *
 * Lifecycle: createProcessor() → start() (topics, telemetry, consumer running) → stop() (idempotent; no flush:
 * open hourly buckets are not emitted as partial, a successor emits them final).
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, EachBatchPayload, Producer } from 'kafkajs';
import type { Policy } from '../engine/policy.js';
import { stateTopicOf, type ProcessorConfig } from './config.js';
import { createKafka, DEFAULT_MAX_MESSAGE_BYTES, ensureTopics, KafkaError, keyPartition, Partitioners, topicMaxMessageBytes, topicTimestampType, undecodableBatchOf } from '../platform/kafka.js';
import { backoffDelay, retry } from '../platform/backoff.js';
import type { Logger } from '../platform/logger.js';
import { batchLinks, contextOf, createTelemetry, SpanKind, tracer, tracingRecording, traceparentOf, type Link, type Span, type Telemetry } from '../platform/telemetry.js';
import { enabledRules, stateHorizon } from '../engine/engine.js';
import { isFleetRule } from '../engine/rules/definition.js';
import type { RegionSnapshot } from '../engine/types.js';
import { openStore, redactSpec } from '../query/open-store.js';
import type { EventStore } from '../query/store.js';
import { createStoreWriter, type StoreWriter } from '../query/store-writer.js';
import { ProcessorMetrics } from './metrics.js';
import { createPipeline, type OutRecord, type PartitionPipeline, type RecordHeaders } from './topology.js';
import { fitDeadLetter, splitSends } from './out-batches.js';
import { createCheckpointReader, encodeCheckpointAsync, isCheckpointRef, type CheckpointReader, type CheckpointRef } from './checkpoint.js';

/** Consumer restarts and partition retries back off from this to this (exponential, equal jitter). */
const RESTART_BACKOFF = { baseMs: 500, maxMs: 30_000 };
/** A partition whose same batch failed this many times in a row is reported (log error; /metrics has every count). */
const STUCK_AFTER = 3;
/**
 * Back-to-back transactions: until the broker has written the previous transaction's commit markers (a few ms), it
 * answers the next one's AddPartitionsToTxn / AddOffsetsToTxn with CONCURRENT_TRANSACTIONS. kafkajs retries the
 * first with its producer retry timing (the client's default 200 ms start made the ~200 ms step of time to page; the
 * Java client retries this at 20 ms), and does not retry the second at all (an offset-only commit right after a
 * commit with output failed the partition). Both are retried from TX_BUSY.baseMs, the second every 10–20 ms at most
 * (on a loaded broker the markers take 50–150 ms: a doubling delay overshoots by as much again).
 */
const TX_BUSY = { baseMs: 5, maxMs: 20, attempts: 300 };
const isTxBusy = (e: unknown) => (e as { type?: unknown } | null)?.type === 'CONCURRENT_TRANSACTIONS';

export interface Processor {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Bound metrics port (0 when metrics are disabled); valid after start(). */
  readonly metricsPort: number;
  readonly telemetry: Telemetry;
  /** True once joined and every partition that has data is rebuilt. */
  ready(): boolean;
  /** The engines' region snapshots (an events processor's include its fleet processor's, merged by region). */
  snapshots(): RegionSnapshot[];
}

interface PartitionState {
  partition: number;
  producer: Producer;
  pipeline: PartitionPipeline;
  /** Next offset to process. */
  position: number;
  /** Offset committed by the last successful transaction (or found at assignment). */
  committed: number;
  /** Outputs are discarded for offsets below this (rebuild). */
  rebuildUntil: number;
  live: boolean;
  /** Wall tick stored with the committed offset; re-applied when the rebuild reaches rebuildUntil. */
  resumeTick: number | null;
  lastTick: number | null;
  lastCommitAt: number;
  caughtUp: boolean;
  queue: Promise<void>;
  disposed: boolean;
  /** The latest checkpoint of this partition (carried in every commit's offset metadata), or null. */
  checkpoint: CheckpointRef | null;
  batchesSinceCheckpoint: number;
  lastCheckpointAt: number;
  /** Outputs processed and not written yet, in order: for the running transaction (if still sending) or the next. */
  pending: Pending[];
  /** An offset-only commit was asked for (a tick's): the next transaction runs even within the commit interval. */
  commitWanted: boolean;
  /** The partition's transaction loop while one runs (one transaction at a time per partition), else null. */
  flushing: Promise<void> | null;
}

/** One batch's (or tick's) outputs waiting for their transaction, with the spans that end when it committed. */
interface Pending {
  out: OutRecord[];
  spans: Span[];
}

interface OffsetMetadata {
  tick?: number | null;
  /** Where the partition's latest checkpoint is (services/processor/checkpoint.ts). */
  cp?: CheckpointRef;
}

/** Partitions of the events topic if it exists (the state topic gets as many), else the configured count. */
async function eventsPartitionCount(admin: Admin, configured: number, topic?: string): Promise<number> {
  if (!topic) return configured;
  try {
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    return md.topics[0]?.partitions.length || configured;
  } catch {
    return configured;
  }
}

/**
 * What a processor reads: the events topic (the region alerts; it forwards fleet-alert inputs to the fleet topic and
 * starts the fleet processor beside itself), or the fleet topic (the fleet alerts; started by an events processor,
 * sharing its /metrics).
 */
export type ProcessorRole = { kind: 'events' } | { kind: 'fleet'; metrics: ProcessorMetrics };

export function createProcessor(config: Readonly<ProcessorConfig>, policy: Readonly<Policy>, log: Logger, role: ProcessorRole = { kind: 'events' }): Processor {
  const eventsTopic = config.topics.events.name;
  const txPrefix = config.transactionalIdPrefix ?? config.groupId;
  const instance = randomUUID().slice(0, 8);
  const kafka = createKafka(config.kafka, log.child({ component: 'kafka' }), `-${instance}`);
  const isFleet = role.kind === 'fleet';
  const telemetry = createTelemetry({ serviceName: 'signwatch-processor', host: config.metrics.host, port: config.metrics.port, serve: config.metrics.enabled && !isFleet });
  const parts = new Map<number, PartitionState>();
  const snapshots = (): RegionSnapshot[] =>
    mergeSnapshots([...[...parts.values()].filter((s) => !s.disposed).flatMap((s) => s.pipeline.snapshot()), ...(fleet?.snapshots() ?? [])]);
  const metrics = role.kind === 'fleet' ? role.metrics : new ProcessorMetrics(telemetry, policy, snapshots);
  /** The fleet alerts' inputs (event types), when the policy enables any fleet alert: they run in the fleet processor. */
  const fleetTypes = new Set<string>(enabledRules(policy).filter(isFleetRule).flatMap((d) => d.types));
  const fleetOn = !isFleet && fleetTypes.size > 0;
  /** The fleet processor this events processor starts (fleetOn). */
  let fleet: Processor | undefined;
  let admin: Admin | undefined;
  let store: EventStore | undefined;

  let storeWriter: StoreWriter | undefined;
  let consumer: Consumer | undefined;
  /** The consumer whose run() was called (seek and pause are only valid on it), or undefined between restarts. */
  let running: Consumer | undefined;
  /** Largest record batch each output topic accepts (read at start). */
  let maxBytes = new Map<string, number>();
  /** Partition count of the events topic (the partitioner's modulus), refreshed on every assignment. */
  let eventsPartitions = 0;
  let ticker: NodeJS.Timeout | undefined;
  let joined = false;
  let started = false;
  let stopping = false;
  /** What the events topic's record timestamps are (read at start-up): the broker's (LogAppendTime) or producers' claims. */
  let recordTime: 'broker' | 'producer' = 'broker';
  let stopPromise: Promise<void> | undefined;
  let metricsPort = 0;

  const partitionLog = (p: number) => log.child({ topic: eventsTopic, partition: p });

  /** Seek on the running consumer; false (nothing done) while none runs: the next assignment starts from the commit. */
  const seek = (p: number, offset: number): boolean => {
    if (!running) return false;
    try {
      running.seek({ topic: eventsTopic, partition: p, offset: String(offset) });
      return true;
    } catch (e) {
      // crashed, and its CRASH event not handled yet: the restart re-initialises every partition
      log.debug({ err: e, partition: p }, 'seek on a stopped consumer skipped');
      return false;
    }
  };

  /** Run `fn` after everything already queued for this partition (batches and ticks never interleave). */
  const serial = (st: PartitionState, fn: () => Promise<void>): Promise<void> => {
    const next = st.queue.then(fn);
    st.queue = next.catch(() => {});
    return next;
  };

  const dispose = async (st: PartitionState, why: string) => {
    if (st.disposed) return;
    st.disposed = true;
    if (parts.get(st.partition) === st) parts.delete(st.partition);
    metrics.dropLag(eventsTopic, st.partition);
    partitionLog(st.partition).info({ why }, 'partition released');
    await Promise.race([st.producer.disconnect().catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
  };

  /**
   * Queue outputs (a batch's or a tick's) for the partition's transaction and start one unless one runs. Outputs are
   * written in order, each batch's with the offset past it, one transaction at a time per partition: while one is
   * open (before its offsets are sent), it takes in what was queued meanwhile (a batch fetched during its sends), so
   * a page that arrives during the previous transaction rides in it instead of waiting for it and a new one.
   * Never throws: a failed transaction fails the partition (released, rebuilt from the committed offset).
   */
  const enqueue = (st: PartitionState, out: OutRecord[], force: boolean, batchSpan?: Span) => {
    if (!st.live || st.disposed) return; // nothing is written before the rebuild reached the committed offset
    if (out.length) st.pending.push({ out, spans: traceTransitions(out, batchSpan) });
    if (force) st.commitWanted = true;
    kick(st);
  };

  const commitDue = (st: PartitionState) => st.pending.length > 0 || (st.position > st.committed && (st.commitWanted || Date.now() - st.lastCommitAt >= config.commitInterval));

  const kick = (st: PartitionState) => {
    if (st.flushing || st.disposed || !st.live || !commitDue(st)) return;
    st.flushing = (async () => {
      try {
        while (!st.disposed && commitDue(st)) await transaction(st);
      } catch (e) {
        await failPartition(st, e, 'batch'); // a batch's (or tick's) transaction
      }
    })().finally(() => {
      st.flushing = null;
      kick(st); // queued between the loop's last check and here
    });
  };

  /** Resolves when the partition's running transaction loop has ended (at once when none runs). */
  const flushed = (st: PartitionState): Promise<void> => st.flushing ?? Promise.resolve();

  /** Sends taken into a transaction from the queue: the first, then what arrived during its sends (bounded). */
  const TX_ROUNDS = 4;

  /** One transaction: the queued outputs (and what arrives while it sends), the offset past them, commit. */
  const transaction = async (st: PartitionState) => {
    const now = Date.now();
    const limitOf = (topic: string) => maxBytes.get(topic) ?? DEFAULT_MAX_MESSAGE_BYTES;
    const dlq = config.topics.dlq.name;
    const taken: Pending[] = [];
    let pos = st.position;
    let tick = st.lastTick;
    let cp = st.checkpoint;
    let cpRecords: Awaited<ReturnType<typeof takeCheckpoint>>;
    const tx = await st.producer.transaction();
    try {
      for (let round = 0; round < TX_ROUNDS && (round === 0 || st.pending.length > 0); round++) {
        // taken together, synchronously: every output of the records before `pos` is in `taken` or committed already
        const part = st.pending.splice(0);
        pos = st.position;
        tick = st.lastTick;
        if (round === 0) {
          st.commitWanted = false;
          // the state at `pos` is taken synchronously (saveState + JSON) before the first await; only its deflate and
          // checksum run off the event loop, while later batches may move st.position
          cpRecords = checkpointDue(st, now, part.some((b) => b.out.some((r) => r.counts.kind === 'transition'))) ? await takeCheckpoint(st) : undefined;
        }
        taken.push(...part);
        const fitted = part.flatMap((b) => b.out).map((r) => (r.topic === dlq ? fitDeadLetter(r, limitOf(dlq)) : r));
        // as many produce requests as it takes for every record batch to fit its topic's limit
        for (const send of splitSends(fitted, limitOf)) {
          const byTopic = new Map<string, OutRecord[]>();
          for (const r of send) {
            const list = byTopic.get(r.topic) ?? [];
            list.push(r);
            byTopic.set(r.topic, list);
          }
          await tx.sendBatch({
            topicMessages: [...byTopic].map(([topic, recs]) => ({
              topic,
              messages: recs.map((r) => ({ key: r.key, value: r.value, headers: r.headers, ...(r.partition === undefined ? {} : { partition: r.partition }) })),
            })),
          });
        }
        if (round === 0 && cpRecords) {
          // the state at `pos` of round 0 (taken with it); one record per request (each fits max.message.bytes
          // alone); chunk 0's offset goes into the metadata
          const cpPos = pos;
          let first: number | undefined;
          for (const r of cpRecords) {
            const meta = await tx.sendBatch({ topicMessages: [{ topic: stateTopic, messages: [{ key: r.key, value: r.value, headers: r.headers, partition: st.partition }] }] });
            first ??= Number(meta.find((m) => m.topicName === stateTopic && m.partition === st.partition)?.baseOffset);
          }
          // keys of the previous, longer checkpoint that this one does not overwrite: tombstones (compaction drops them)
          const stale = (st.checkpoint?.n ?? 0) - cpRecords.length;
          if (stale > 0) {
            await tx.sendBatch({ topicMessages: [{ topic: stateTopic, messages: Array.from({ length: stale }, (_, k) => ({ key: `chunk.${cpRecords!.length + k}`, value: null, partition: st.partition })) }] });
          }
          if (first !== undefined && Number.isSafeInteger(first)) cp = { o: first, n: cpRecords.length, pos: cpPos };
        }
      }
      // after the sends (sent together, the second of AddPartitionsToTxn / AddOffsetsToTxn is refused as concurrent)
      const metadata: OffsetMetadata = cp ? { tick, cp } : { tick };
      await retry(
        () =>
          tx.sendOffsets({
            consumerGroupId: config.groupId,
            topics: [{ topic: eventsTopic, partitions: [{ partition: st.partition, offset: String(pos), metadata: JSON.stringify(metadata) } as { partition: number; offset: string }] }],
          }),
        { ...TX_BUSY, isRetryable: isTxBusy },
      );
      await tx.commit();
    } catch (e) {
      await tx.abort().catch(() => {});
      throw e;
    }
    st.committed = pos;
    st.lastCommitAt = now;
    st.batchesSinceCheckpoint++;
    if (cpRecords) {
      st.checkpoint = cp;
      st.batchesSinceCheckpoint = 0;
      st.lastCheckpointAt = now;
    }
    metrics.onCommitted(eventsTopic, st.partition, st.committed);
    if (now - lastRestartAt > RESTART_BACKOFF.maxMs) restartAttempt = 0; // healthy for a while: back off from the start
    for (const b of taken) {
      for (const sp of b.spans) sp.end();
      for (const r of b.out) {
        if (r.counts.kind === 'transition') metrics.onTransition(r.counts.transition);
        else if (r.counts.kind === 'dead-letter') metrics.onDeadLettered(r.counts.reason);
        else if (r.counts.kind === 'rerouted') metrics.onRerouted(r.counts.region);
      }
    }
  };

  /**
   * Each transition's span (`processor.transition`): a child of the record that caused it (its ship span, from the
   * record's `traceparent` header), linked to the batch span, from the batch's start until its transaction
   * committed. The transition record carries the span as `traceparent` (value and header): the notifier's spans
   * are its children.
   */
  const traceTransitions = (out: OutRecord[], batchSpan: Span | undefined): Span[] => {
    const spans: Span[] = [];
    for (const r of out) {
      if (r.counts.kind !== 'transition') continue;
      const t = r.counts.transition;
      if (r.counts.cause === undefined && !t.traceIds) continue;
      const links: Link[] = batchSpan ? [{ context: batchSpan.spanContext() }] : [];
      const span = tracer().startSpan(
        'processor.transition',
        { kind: SpanKind.PRODUCER, links, attributes: { 'signwatch.alert': t.alert, 'signwatch.alert.state': t.state, 'signwatch.dedup_key': t.dedupKey, 'signwatch.trace_ids': t.traceIds ?? [] }, ...(batchSpan ? { startTime: batchStart.get(batchSpan) } : {}) },
        contextOf(r.counts.cause),
      );
      const tp = traceparentOf(span);
      if (tp) {
        t.traceparent = tp;
        r.value = JSON.stringify(t);
        r.headers = { ...r.headers, traceparent: tp };
      }
      spans.push(span);
    }
    return spans;
  };
  const batchStart = new WeakMap<Span, number>();

  const stateTopic = stateTopicOf(config);
  /** The fleet processor's checkpoints (created here, with the events processor's topics). */
  const fleetStateTopic = config.topics.state.name ? `${config.topics.state.name}.fleet` : `${config.groupId}.fleet.state`;
  /** Partitions of the state topic (read at start): a partition without its state partition is never checkpointed. */
  let statePartitions = 0;
  let reader: CheckpointReader | undefined;

  /**
   * A transaction that carries a transition (a page) takes no checkpoint unless one is overdue twice over: saving and
   * sending the state would delay the page; the next output-less commit takes it instead.
   */
  const checkpointDue = (st: PartitionState, now: number, paging: boolean): boolean => {
    const k = paging ? 2 : 1;
    return (
      config.checkpoint.enabled &&
      st.partition < statePartitions &&
      st.position > (st.checkpoint?.pos ?? -1) &&
      (st.batchesSinceCheckpoint >= k * config.checkpoint.batches || now - st.lastCheckpointAt >= k * config.checkpoint.interval)
    );
  };

  /** The records of a checkpoint of the partition's state now, or undefined (cannot be saved exactly right now). */
  const takeCheckpoint = async (st: PartitionState) => {
    const t0 = performance.now();
    try {
      const state = st.pipeline.saveState();
      if (!state) return undefined; // a damping deadline is pending: next commit
      // the state and its position are taken now, synchronously (batches processed while the transaction runs move
      // st.position, not this); its deflate and checksum run off the event loop
      const position = st.position;
      const pending = encodeCheckpointAsync(state, position, maxBytes.get(stateTopic) ?? DEFAULT_MAX_MESSAGE_BYTES);
      const loopMs = performance.now() - t0;
      const recs = await pending;
      partitionLog(st.partition).debug({ position, chunks: recs.length, bytes: recs.reduce((n, r) => n + r.value.length, 0), loopMs: Math.round(loopMs), ms: Math.round(performance.now() - t0) }, 'checkpoint taken');
      return recs;
    } catch (e) {
      // a state the codec cannot write: no checkpoint (recovery rebuilds from the log); say it once per interval
      st.lastCheckpointAt = Date.now();
      st.batchesSinceCheckpoint = 0;
      partitionLog(st.partition).warn({ err: e }, 'checkpoint not taken: the engine state cannot be saved');
      return undefined;
    }
  };

  /** Fence, find the committed offset, decide where the rebuild starts. */
  const initPartition = async (p: number, batch: EachBatchPayload['batch'] | undefined): Promise<PartitionState> => {
    const plog = partitionLog(p);
    const producer = kafka.producer({
      transactionalId: `${txPrefix}.${eventsTopic}.${p}`,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 60_000,
      createPartitioner: Partitioners.DefaultPartitioner,
      // idempotent: kafkajs retries without limit (limiting them "may invalidate EoS"); a broker outage waits here.
      // From TX_BUSY.baseMs, × 1.5 per retry up to the client's maxRetryTime (doubling overshot the markers' wait).
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: TX_BUSY.baseMs, multiplier: 1.5 },
    });
    await producer.connect(); // InitProducerId: bumps the epoch (fences the previous owner, aborts its open transaction)
    try {
      const a = admin!;
      const [offsets, committedAll] = await Promise.all([a.fetchTopicOffsets(eventsTopic), a.fetchOffsets({ groupId: config.groupId, topics: [eventsTopic] })]);
      eventsPartitions = offsets.length;
      const bounds = offsets.find((o) => o.partition === p);
      const low = Number(bounds?.low ?? 0);
      const high = Number(bounds?.high ?? 0);
      const c = committedAll[0]?.partitions.find((x) => x.partition === p);
      const committedRaw = c ? Number(c.offset) : -1;
      // clamp into the log: below its start (retention deleted it) or past its end (topic re-created)
      const committed = committedRaw >= 0 ? Math.min(Math.max(committedRaw, low), Math.max(high, low)) : low;
      let resumeTick: number | null = null;
      let cpRef: CheckpointRef | null = null;
      if (c?.metadata) {
        try {
          const m = JSON.parse(c.metadata) as OffsetMetadata;
          if (typeof m.tick === 'number') resumeTick = m.tick;
          if (isCheckpointRef(m.cp)) cpRef = m.cp;
        } catch {
          /* foreign metadata: ignore */
        }
      }
      const newPipeline = () =>
        createPipeline({
          policy,
          topics: { alerts: config.topics.alerts.name, hourly: config.topics.hourly.name, dlq: config.topics.dlq.name },
          clock: config.clock,
          clockDelay: config.clockDelay,
          maxEventBytes: config.maxEventBytes,
          metrics,
          log: plog,
          recordTime,
          scope: isFleet ? 'fleet' : fleetOn ? 'region' : 'all',
          ...(isFleet ? {} : { events: { topic: eventsTopic, partitionOf: (region: string) => (eventsPartitions > 0 ? keyPartition(region, eventsPartitions) : undefined) } }),
          ...(fleetOn ? { fleet: { topic: config.topics.fleet.name, types: fleetTypes } } : {}),
        });
      let pipeline = newPipeline();
      let restored: CheckpointRef | null = null;
      if (cpRef && config.checkpoint.enabled && committed > low) {
        const t0 = performance.now();
        try {
          if (!reader) throw new Error('no checkpoint reader');
          if (cpRef.pos > committed) throw new Error(`it is at position ${cpRef.pos}, past the committed offset ${committed} (offsets reset?)`);
          const state = await reader.load(p, cpRef, config.checkpoint.loadTimeout);
          pipeline.loadState(state);
          restored = cpRef;
          plog.info({ position: cpRef.pos, committed, chunks: cpRef.n, ms: Math.round(performance.now() - t0) }, 'checkpoint loaded');
        } catch (e) {
          pipeline = newPipeline(); // a half-restored one is not to be trusted
          plog.warn({ err: e, checkpoint: cpRef, ms: Math.round(performance.now() - t0) }, `checkpoint unusable: ${(e as Error).message}; rebuilding from the log (rebuildFrom: ${config.rebuildFrom})`);
        }
      }
      let start = restored ? Math.max(low, restored.pos) : low;
      if (!restored && config.rebuildFrom === 'horizon' && committed > low) {
        // the record time at C: the first record of a batch fetched from C, else now (a later start: less rebuilt)
        const first = batch?.messages[0];
        const atC = first && Number(first.offset) === committed ? Number(first.timestamp) : Date.now();
        const byTime = await a.fetchTopicOffsetsByTimestamp(eventsTopic, atC - stateHorizon(policy));
        const o = byTime.find((x) => x.partition === p);
        if (o && Number(o.offset) >= 0) start = Math.min(committed, Math.max(low, Number(o.offset)));
      }
      const st: PartitionState = {
        partition: p,
        producer,
        pipeline,
        position: start,
        committed,
        rebuildUntil: committed,
        live: start >= committed,
        resumeTick: config.clock === 'wall' ? resumeTick : null,
        lastTick: null,
        lastCommitAt: Date.now(),
        // nothing to re-read and nothing after the committed offset (a restored checkpoint at the end): no batch will
        // say so, and a caught-up partition is what lets the wall clock tick
        caughtUp: start >= committed && committed >= high,
        queue: Promise.resolve(),
        disposed: false,
        // not loaded (checkpoints disabled, or unusable): the pointer is kept while checkpoints are off (a later
        // instance with them on restores from it and re-reads more), dropped when it proved unusable
        checkpoint: restored ?? (config.checkpoint.enabled ? null : cpRef),
        batchesSinceCheckpoint: 0,
        // restored: the next one after the interval; rebuilt: one as soon as it is live (the next recovery is short)
        lastCheckpointAt: restored ? Date.now() : -Infinity,
        pending: [],
        commitWanted: false,
        flushing: null,
      };
      if (st.live && st.resumeTick !== null) {
        st.pipeline.tick(st.resumeTick, false, []);
        st.lastTick = st.resumeTick;
      }
      plog.info({ committed, rebuildFrom: start, records: committed - start, resumeTick, checkpoint: restored?.pos ?? null }, st.live ? 'partition assigned (nothing to rebuild)' : 'partition assigned: rebuilding state');
      return st;
    } catch (e) {
      await producer.disconnect().catch(() => {});
      throw e;
    }
  };

  const finishRebuild = (st: PartitionState) => {
    st.live = true;
    if (st.resumeTick !== null) {
      st.pipeline.tick(st.resumeTick, false, []);
      st.lastTick = st.resumeTick;
    }
    partitionLog(st.partition).info({ position: st.position }, 'state rebuilt; live');
    updateReady();
  };

  /** Partitions being initialised (on assignment, or by the first batch if that comes first). */
  const pending = new Map<number, Promise<PartitionState>>();
  let assigned = new Set<number>();

  const ensurePartition = (p: number, batch?: EachBatchPayload['batch']): Promise<PartitionState> => {
    const have = parts.get(p);
    if (have) return Promise.resolve(have);
    let pr = pending.get(p);
    if (!pr) {
      pr = initPartition(p, batch).then(
        (st) => {
          pending.delete(p);
          if (stopping || !assigned.has(p)) {
            void dispose(st, 'revoked while initialising');
            return st;
          }
          parts.set(p, st);
          // the consumer fetches from the committed offset; a rebuild starts earlier. No running consumer: the
          // partition is re-initialised on the next assignment anyway.
          if (st.position !== st.committed && !seek(p, st.position)) void dispose(st, 'consumer not running');
          updateReady();
          return st;
        },
        (e: unknown) => {
          pending.delete(p);
          throw e;
        },
      );
      pending.set(p, pr);
    }
    return pr;
  };

  const updateReady = () => {
    const rebuilding = pending.size > 0 || [...parts.values()].some((s) => !s.live);
    telemetry.setReady(joined && !rebuilding && !stopping, !joined ? 'not in the consumer group yet' : rebuilding ? 'rebuilding partition state' : 'stopping');
  };

  /**
   * A partition's batch or commit failed: release it (its state is rebuilt from the committed offset), pause it and
   * resume it after a backoff that grows while the same batch keeps failing; the offset is reported on /metrics
   * and, from the STUCK_AFTER-th time on, in the log. The consumer and the other partitions go on.
   */
  const failPartition = async (st: PartitionState, err: unknown, what: string) => {
    const p = st.partition;
    const failures = metrics.onBatchFailed(eventsTopic, p, st.committed);
    const delayMs = backoffDelay(failures, RESTART_BACKOFF);
    const plog = partitionLog(p);
    const msg = `${what} failed: releasing the partition (rebuilt from the committed offset ${st.committed}, retried in ${delayMs} ms)`;
    if (failures >= STUCK_AFTER) plog.error({ err, offset: st.committed, failures, delayMs }, `partition stuck: the batch at offset ${st.committed} failed ${failures} times in a row; ${msg}`);
    else plog.error({ err, offset: st.committed, failures, delayMs }, msg);
    // pause first: no batch fetched meanwhile may re-initialise it before the backoff ends
    const c = running;
    const paused = !!c && !stopping && seek(p, st.committed);
    if (paused) {
      c.pause([{ topic: eventsTopic, partitions: [p] }]);
      backingOff.add(p);
    }
    await dispose(st, 'error');
    if (!paused) return;
    setTimeout(() => {
      backingOff.delete(p);
      if (running !== c || stopping) return; // a restarted consumer starts unpaused, from the committed offsets
      try {
        c.resume([{ topic: eventsTopic, partitions: [p] }]);
      } catch {
        return; // it crashed: the restart starts unpaused
      }
      // re-initialise it even if no new record arrives (a quiet partition must keep ticking)
      if (assigned.has(p)) ensurePartition(p).catch((e: unknown) => plog.error({ err: e }, 'partition re-initialisation failed'));
    }, delayMs).unref();
  };

  /** Partitions paused after a failure, until their backoff ends. */
  const backingOff = new Set<number>();

  const eachBatch = async (payload: EachBatchPayload) => {
    const { batch } = payload;
    const p = batch.partition;
    if (backingOff.has(p) || payload.isStale()) return; // fetched before the pause / seek
    const state = parts.get(p) ?? (await ensurePartition(p, batch));
    if (state.disposed) return;
    await serial(state, async () => {
      // one batch's outputs may wait while a transaction runs (it takes them in, or the next one does); a third batch
      // waits for them to be written (bounded memory; the fetch after it waits too)
      while (state.pending.length > 0 && state.flushing && !state.disposed) await flushed(state);
      if (state.disposed || payload.isStale()) return;
      const out: OutRecord[] = [];
      // one span per live batch, linked to every trace among its events (spans are only built while exporting)
      const span = state.live && tracingRecording() ? batchSpanOf(batch) : undefined;
      try {
        // offsets are ours (state.position): records below it were processed already (a batch re-fetched from the
        // committed offset after a rebalance that kept the partition) and are skipped
        for (const m of batch.messages) {
          const off = Number(m.offset);
          if (off < state.position) continue;
          if (!state.live && off >= state.rebuildUntil) {
            state.position = off;
            finishRebuild(state);
          }
          const rec = { topic: batch.topic, partition: p, offset: m.offset, timestamp: Number(m.timestamp), key: m.key ?? null, value: m.value ?? null, headers: m.headers as RecordHeaders };
          const bad = undecodableBatchOf(m.headers, m.value ?? null);
          if (bad) state.pipeline.undecodable(rec, bad, state.live, out);
          else state.pipeline.record(rec, state.live, out);
          state.position = off + 1;
        }
        state.position = Math.max(state.position, Number(batch.lastOffset()) + 1);
        if (!state.live && state.position >= state.rebuildUntil) finishRebuild(state);
        const lag = Math.max(0, Number(batch.highWatermark) - state.position);
        metrics.setLag(eventsTopic, p, lag);
        state.caughtUp = lag === 0;
        metrics.flush();
        // written by the partition's transaction loop; the next fetch need not wait for it (a failed transaction
        // seeks the consumer back to the committed offset)
        enqueue(state, out, false, span);
        payload.resolveOffset(batch.lastOffset());
        span?.end();
      } catch (e) {
        span?.recordException(e as Error);
        span?.end();
        await failPartition(state, e, 'batch');
      }
    });
  };

  /** The batch's span: linked to every trace among its records (batchLinks: one link per trace, not per event). */
  const batchSpanOf = (batch: EachBatchPayload['batch']): Span => {
    const startTime = Date.now();
    const headers = batch.messages.map((m) => m.headers?.traceparent);
    const span = tracer().startSpan('processor.batch', {
      kind: SpanKind.CONSUMER,
      startTime,
      links: batchLinks(headers),
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': batch.topic,
        'messaging.destination.partition.id': String(batch.partition),
        'messaging.batch.message_count': batch.messages.length,
        'signwatch.kafka.first_offset': batch.firstOffset() ?? '',
        'signwatch.kafka.last_offset': batch.lastOffset(),
      },
    });
    batchStart.set(span, startTime);
    return span;
  };

  /**
   * A fetched batch that held only control records (the commit markers of transactional producers, the processor's
   * own forwards included) never reaches eachBatch: move the position past it, so the partition is caught up (its
   * wall clock ticks) and the offset is committed with the next transaction.
   */
  const filteredBatch = (e: { topic: string; partition: number; batchSize: number; firstOffset: string | null; lastOffset: string; highWatermark: string }) => {
    const st = parts.get(e.partition);
    if (e.topic !== eventsTopic || e.batchSize !== 0 || e.firstOffset === null || !st || st.disposed) return;
    void serial(st, () => {
      const first = Number(e.firstOffset);
      const next = Number(e.lastOffset) + 1;
      if (st.disposed || first > st.position || next <= st.position) return Promise.resolve();
      st.position = next;
      if (!st.live && st.position >= st.rebuildUntil) finishRebuild(st);
      const lag = Math.max(0, Number(e.highWatermark) - st.position);
      metrics.setLag(eventsTopic, st.partition, lag);
      st.caughtUp = lag === 0;
      return Promise.resolve();
    });
  };

  /** Wall clock for quiet partitions, and offsets of output-less batches that are waiting to be committed. */
  const tick = () => {
    const now = Date.now();
    for (const st of parts.values()) {
      if (st.disposed || !st.live) continue;
      const wantsTick = config.clock === 'wall' && st.caughtUp;
      const wantsCommit = st.position > st.committed && now - st.lastCommitAt >= config.commitInterval;
      if (!wantsTick && !wantsCommit) continue;
      serial(st, () => {
        if (st.disposed) return Promise.resolve();
        const out: OutRecord[] = [];
        if (wantsTick && st.caughtUp) {
          const t = Date.now() - config.clockDelay;
          if (st.lastTick === null || t > st.lastTick) {
            st.pipeline.tick(t, true, out);
            if (out.length) st.lastTick = t;
          }
        }
        enqueue(st, out, wantsCommit);
        return Promise.resolve();
      }).catch((e: unknown) => failPartition(st, e, 'tick'));
    }
  };

  /**
   * Create, join and run the consumer. A failing batch never restarts it (failPartition retries that partition
   * alone). kafkajs's own restarts are turned off (it retries every 300 ms, forever): after a crash we start a fresh
   * consumer ourselves, backing off exponentially with jitter, until the broker answers again; the attempt count
   * starts over only once a transaction committed more than RESTART_BACKOFF.maxMs after the last restart.
   */
  let restartAttempt = 0;
  let lastRestartAt = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  const runConsumer = async (): Promise<void> => {
    const c = kafka.consumer({
      groupId: config.groupId,
      sessionTimeout: config.consumer.sessionTimeout,
      rebalanceTimeout: config.consumer.rebalanceTimeout,
      heartbeatInterval: config.consumer.heartbeatInterval,
      maxWaitTimeInMs: config.consumer.maxWaitTime,
      maxBytesPerPartition: config.consumer.maxBytesPerPartition,
      maxBytes: config.consumer.maxBytesPerPartition * 4,
      readUncommitted: false,
      retry: { retries: 20, initialRetryTime: 300, maxRetryTime: 5000, restartOnFailure: () => Promise.resolve(false) },
    });
    consumer = c;
    c.on(c.events.GROUP_JOIN, (e) => {
      if (consumer !== c) return;
      joined = true;
      assigned = new Set(e.payload.memberAssignment[eventsTopic] ?? []);
      log.info({ memberId: e.payload.memberId, assigned: [...assigned].sort((a, b) => a - b) }, 'joined consumer group');
      for (const st of [...parts.values()]) {
        if (!assigned.has(st.partition)) void dispose(st, 'revoked');
        // kept: the consumer fetches from the committed offset again; a rebuild in progress must go on from its position
        else if (st.position < st.committed) seek(st.partition, st.position);
      }
      // rebuild every assigned partition now, also those without new records (their alerts must still resolve)
      for (const p of assigned) {
        if (!backingOff.has(p)) ensurePartition(p).catch((err: unknown) => log.error({ err, partition: p }, 'partition initialisation failed (retried on its next batch)'));
      }
      updateReady();
    });
    c.on(c.events.CRASH, (e) => {
      if (consumer !== c) return;
      joined = false;
      running = undefined;
      updateReady();
      log.error({ err: e.payload.error }, 'consumer crashed');
      if (!stopping) scheduleRestart(c);
    });
    c.on(c.events.END_BATCH_PROCESS, (e) => filteredBatch(e.payload));
    c.on(c.events.REBALANCING, () => {
      joined = false;
      updateReady();
    });
    await c.connect();
    await c.subscribe({ topic: eventsTopic, fromBeginning: true });
    if (stopping || consumer !== c) return;
    running = c; // from here on seek/pause are valid on it (kafkajs: "consumer#run must be called first")
    await c.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: config.consumer.partitionsConsumedConcurrently, eachBatch });
  };

  const scheduleRestart = (old: Consumer) => {
    if (restartTimer || stopping) return;
    if (running === old) running = undefined;
    const delay = backoffDelay(++restartAttempt, RESTART_BACKOFF);
    log.warn({ delayMs: delay, attempt: restartAttempt }, 'restarting the consumer');
    restartTimer = setTimeout(() => {
      void (async () => {
        await old.disconnect().catch(() => {});
        // the group membership is gone: partitions are re-initialised (fenced, rebuilt) on the next assignment
        for (const st of [...parts.values()]) await dispose(st, 'consumer restart');
        restartTimer = undefined;
        if (stopping) return;
        lastRestartAt = Date.now();
        try {
          await runConsumer();
        } catch (err) {
          log.error({ err }, 'consumer restart failed');
          if (consumer) scheduleRestart(consumer);
        }
      })();
    }, delay);
  };

  const start = async () => {
    if (started) return;
    started = true;
    telemetry.setReady(false, 'starting');
    metricsPort = await telemetry.start();
    if (config.store.enabled) {
      const spec = config.store.spec ?? process.env[config.store.specEnv] ?? 'sqlite:signwatch-events.db';
      store = await openStore(spec, { retentionMs: config.store.retention });
      log.info({ store: redactSpec(spec) }, 'event store open');
      // its own consumer group: the store never delays a transaction (nor a page)
      storeWriter = createStoreWriter({ kafka: config.kafka, topic: eventsTopic, groupId: `${config.groupId}.store`, store, log: log.child({ component: 'store-writer' }), maxEventBytes: config.maxEventBytes, maxFutureSkew: policy.maxFutureSkew });
    }
    admin = kafka.admin();
    await admin.connect();
    if (config.topics.create) {
      const t = config.topics;
      const retention = String(t.retention);
      await ensureTopics(
        admin,
        [
          // LogAppendTime: the wall clock the engine follows is the broker's, identical when a partition is re-read
          { name: t.events.name, partitions: t.events.partitions, replicationFactor: t.replicationFactor, configs: { 'retention.ms': retention, 'message.timestamp.type': 'LogAppendTime' } },
          { name: t.dlq.name, partitions: t.dlq.partitions, replicationFactor: t.replicationFactor, configs: { 'retention.ms': retention } },
          { name: t.alerts.name, partitions: t.alerts.partitions, replicationFactor: t.replicationFactor, configs: { 'retention.ms': retention } },
          { name: t.hourly.name, partitions: t.hourly.partitions, replicationFactor: t.replicationFactor, configs: { 'retention.ms': retention } },
          ...(fleetOn ? [{ name: t.fleet.name, partitions: 1, replicationFactor: t.replicationFactor, configs: { 'retention.ms': retention, 'message.timestamp.type': 'LogAppendTime' } }] : []),
          ...(config.checkpoint.enabled
            ? [{ name: stateTopic, partitions: await eventsPartitionCount(admin, t.events.partitions, t.events.name), replicationFactor: t.replicationFactor, configs: { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.1', 'segment.ms': '600000' } }]
            : []),
          ...(config.checkpoint.enabled && fleetOn
            ? [{ name: fleetStateTopic, partitions: 1, replicationFactor: t.replicationFactor, configs: { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.1', 'segment.ms': '600000' } }]
            : []),
        ],
        log,
      );
    }
    if (config.checkpoint.enabled) {
      try {
        const md = await admin.fetchTopicMetadata({ topics: [stateTopic] });
        statePartitions = md.topics[0]?.partitions.length ?? 0;
        reader = createCheckpointReader(kafka, { topic: stateTopic, groupId: `${config.groupId}.state.${instance}`, log: log.child({ component: 'checkpoint-reader' }) });
        await reader.start();
      } catch (e) {
        statePartitions = 0;
        reader = undefined;
        log.warn({ err: e, topic: stateTopic }, 'no checkpoints: the state topic cannot be read (recovery rebuilds from the log)');
      }
    }
    // the record timestamp is the reference time of bounded event time: with CreateTime it is the producer's claim
    const tsType = await topicTimestampType(admin, eventsTopic).catch((e: unknown) => {
      log.warn({ err: e, topic: eventsTopic }, 'cannot read the events topic timestamp type; treating record timestamps as producer claims');
      return undefined;
    });
    recordTime = tsType === 'LogAppendTime' ? 'broker' : 'producer';
    if (recordTime === 'producer') {
      log.warn(
        { topic: eventsTopic, 'message.timestamp.type': tsType ?? 'unknown' },
        "events topic does not use LogAppendTime: record timestamps are the producers' claims, bounded by this processor's clock (set message.timestamp.type=LogAppendTime on the topic: docs/processor.md)",
      );
    }
    const tn = config.topics;
    maxBytes = await topicMaxMessageBytes(admin, [tn.dlq.name, tn.alerts.name, tn.hourly.name, eventsTopic, ...(fleetOn ? [tn.fleet.name] : []), ...(config.checkpoint.enabled ? [stateTopic] : [])], log);
    await runConsumer();
    if (fleetOn) {
      // the fleet alerts: the same processor over the fleet topic, in its own consumer group (one instance of the
      // group owns its one partition at a time; the others stand by), its transitions on the same alert topic
      fleet = createProcessor(
        {
          ...config,
          groupId: `${config.groupId}.fleet`,
          transactionalIdPrefix: `${txPrefix}.fleet`,
          topics: { ...tn, create: false, events: tn.fleet, state: { name: fleetStateTopic } },
          store: { ...config.store, enabled: false },
        },
        policy,
        log.child({ component: 'fleet' }),
        { kind: 'fleet', metrics },
      );
    }
    if (storeWriter) await storeWriter.start();
    if (fleet) await fleet.start();
    ticker = setInterval(tick, config.tickInterval);
    ticker.unref();
    if (isFleet) log.info({ groupId: config.groupId, fleet: eventsTopic, clock: config.clock }, 'fleet processor started');
    else log.info({ brokers: config.kafka.brokers, groupId: config.groupId, events: eventsTopic, ...(fleetOn ? { fleet: config.topics.fleet.name } : {}), clock: config.clock, metricsPort }, 'processor started');
  };

  const stop = () => {
    stopPromise ??= (async () => {
      stopping = true;
      telemetry.setReady(false, 'stopping');
      if (ticker) clearInterval(ticker);
      if (restartTimer) clearTimeout(restartTimer);
      running = undefined;
      if (consumer) await consumer.disconnect().catch((e: unknown) => log.warn({ err: e }, 'consumer disconnect failed'));
      for (const st of [...parts.values()]) {
        // a transaction stuck on an unreachable broker must not block shutdown: it is aborted by the next owner
        await Promise.race([st.queue.then(() => flushed(st)), new Promise((r) => setTimeout(r, 10_000).unref())]);
        await dispose(st, 'stopping');
      }
      if (fleet) await fleet.stop();
      if (reader) await reader.stop();
      if (admin) await admin.disconnect().catch(() => {});
      if (storeWriter) await storeWriter.stop();
      if (store) await store.close().catch((e: unknown) => log.warn({ err: e }, 'event store close failed'));
      await telemetry.stop();
      log.info(isFleet ? 'fleet processor stopped' : 'processor stopped');
    })();
    return stopPromise;
  };

  return {
    start: async () => {
      try {
        await start();
      } catch (e) {
        await stop();
        if (e instanceof KafkaError) throw e;
        throw new KafkaError('SW_PROCESSOR_START', `processor start failed: ${(e as Error).message}`, { cause: e });
      }
    },
    stop,
    get metricsPort() {
      return metricsPort;
    },
    telemetry,
    snapshots,
    ready: () => joined && [...parts.values()].every((s) => s.live) && (!fleetOn || (fleet?.ready() ?? false)),
  };
}

/** One snapshot per region: a region's alerts run in its events partition, its fleet-alert readings in the fleet one. */
function mergeSnapshots(list: RegionSnapshot[]): RegionSnapshot[] {
  const by = new Map<string, RegionSnapshot>();
  for (const s of list) {
    const have = by.get(s.region);
    if (!have) by.set(s.region, { ...s, firing: [...s.firing], gauges: [...s.gauges] });
    else {
      have.firing.push(...s.firing);
      have.gauges.push(...s.gauges);
      if (s.clock !== null && (have.clock === null || s.clock > have.clock)) have.clock = s.clock;
    }
  }
  return [...by.values()];
}
