/**
 * Checkpoints of a partition's engine state (bounded recovery, docs/processor.md "Crash recovery").
 *
 * Written: the pipeline's saveState() as JSON, deflated, cut into records that fit the state topic's
 * max.message.bytes, keyed `chunk.<i>` in the state topic's partition p (compacted: the latest checkpoint's records
 * are the latest of their keys), inside the same transaction as the batch's outputs and offset; the offset metadata
 * then names where it starts ({ o: offset of chunk 0, n: chunks, pos: the events position it is the state at }).
 * Every chunk carries a header with the format version, its index, the count, the position and the SHA-256 of the
 * whole deflated blob.
 *
 * Read: each processor instance runs one reader consumer over the state topic (its own group, every partition,
 * paused); loading partition p seeks it to `o`, resumes it, collects the n chunks of that position, pauses it again.
 * Anything wrong (timeout, missing chunk, checksum, format version, engine shape or policy) is an error with the
 * reason: the caller rebuilds from the log instead.
 */
import { createHash, webcrypto } from 'node:crypto';
import { promisify } from 'node:util';
import { deflateRaw, deflateRawSync, inflateRaw, inflateRawSync } from 'node:zlib';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { Kafka } from '../platform/kafka.js';
import type { Logger } from '../platform/logger.js';
import { CodedError } from '../platform/errors.js';
import type { PipelineState } from './topology.js';

/** Version of the record format (header, chunking, envelope); the engine state has its own (ENGINE_STATE_VERSION). */
export const CHECKPOINT_FORMAT = 1;
export const CHECKPOINT_HEADER = 'signwatch-checkpoint';
/** Room left in each record for its key, header and record overhead. */
const RECORD_OVERHEAD = 4096;

/** Where a partition's latest checkpoint is (kept in the committed offset's metadata). */
export interface CheckpointRef {
  /** Offset of chunk 0 in the state topic's partition. */
  o: number;
  /** Number of chunks. */
  n: number;
  /** Events position the state is at: every record below it is in it. */
  pos: number;
}

export interface ChunkMeta {
  v: number;
  i: number;
  n: number;
  pos: number;
  sha: string;
}

export interface CheckpointRecord {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

export function isCheckpointRef(x: unknown): x is CheckpointRef {
  const r = x as Partial<CheckpointRef> | null;
  return !!r && typeof r === 'object' && [r.o, r.n, r.pos].every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) && r.n! > 0;
}

const deflateRawAsync = promisify(deflateRaw);
const inflateRawAsync = promisify(inflateRaw);
const sha256Async = async (b: Buffer): Promise<string> => Buffer.from(await webcrypto.subtle.digest('SHA-256', b)).toString('hex');

/** The records of one checkpoint (state at events position `pos`), each at most `maxRecordBytes`. */
export function encodeCheckpoint(state: PipelineState, pos: number, maxRecordBytes: number): CheckpointRecord[] {
  const blob = deflateRawSync(Buffer.from(JSON.stringify(state)), { level: 1 });
  return chunkCheckpoint(blob, createHash('sha256').update(blob).digest('hex'), pos, maxRecordBytes);
}

/**
 * encodeCheckpoint() with the deflate and the checksum on libuv's thread pool: only JSON.stringify runs on the
 * event loop (deflating a horizon-full state took ~half the encode time there: bench/checkpoint-cost.ts). The
 * same records, byte for byte.
 */
export async function encodeCheckpointAsync(state: PipelineState, pos: number, maxRecordBytes: number): Promise<CheckpointRecord[]> {
  const blob = await deflateRawAsync(Buffer.from(JSON.stringify(state)), { level: 1 });
  return chunkCheckpoint(blob, await sha256Async(blob), pos, maxRecordBytes);
}

function chunkCheckpoint(blob: Buffer, sha: string, pos: number, maxRecordBytes: number): CheckpointRecord[] {
  const size = Math.max(1024, maxRecordBytes - RECORD_OVERHEAD);
  const n = Math.max(1, Math.ceil(blob.length / size));
  const out: CheckpointRecord[] = [];
  for (let i = 0; i < n; i++) {
    const meta: ChunkMeta = { v: CHECKPOINT_FORMAT, i, n, pos, sha };
    out.push({ key: `chunk.${i}`, value: blob.subarray(i * size, Math.min(blob.length, (i + 1) * size)), headers: { [CHECKPOINT_HEADER]: JSON.stringify(meta) } });
  }
  return out;
}

export class CheckpointError extends CodedError {
  constructor(message: string) {
    super('SW_ENGINE_STATE', message);
  }
}

/** Reassemble and check the chunks of `ref`; throws CheckpointError with the reason. */
export function decodeCheckpoint(ref: CheckpointRef, chunks: readonly { value: Buffer; meta: ChunkMeta }[]): PipelineState {
  const { blob, sha } = assemble(ref, chunks);
  if (createHash('sha256').update(blob).digest('hex') !== sha) throw new CheckpointError(`checkpoint at position ${ref.pos}: checksum mismatch (damaged)`);
  try {
    return JSON.parse(inflateRawSync(blob).toString('utf8')) as PipelineState;
  } catch (e) {
    throw new CheckpointError(`checkpoint at position ${ref.pos}: unreadable: ${(e as Error).message}`);
  }
}

/** decodeCheckpoint() with the checksum and the inflate on libuv's thread pool (JSON.parse on the event loop). */
export async function decodeCheckpointAsync(ref: CheckpointRef, chunks: readonly { value: Buffer; meta: ChunkMeta }[]): Promise<PipelineState> {
  const { blob, sha } = assemble(ref, chunks);
  if ((await sha256Async(blob)) !== sha) throw new CheckpointError(`checkpoint at position ${ref.pos}: checksum mismatch (damaged)`);
  let text: string;
  try {
    text = (await inflateRawAsync(blob)).toString('utf8');
  } catch (e) {
    throw new CheckpointError(`checkpoint at position ${ref.pos}: unreadable: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as PipelineState;
  } catch (e) {
    throw new CheckpointError(`checkpoint at position ${ref.pos}: unreadable: ${(e as Error).message}`);
  }
}

function assemble(ref: CheckpointRef, chunks: readonly { value: Buffer; meta: ChunkMeta }[]): { blob: Buffer; sha: string } {
  if (chunks.length !== ref.n) throw new CheckpointError(`checkpoint at position ${ref.pos}: ${chunks.length} of ${ref.n} chunks`);
  const sorted = [...chunks].sort((a, b) => a.meta.i - b.meta.i);
  sorted.forEach((c, i) => {
    if (c.meta.i !== i || c.meta.n !== ref.n || c.meta.sha !== sorted[0]!.meta.sha) throw new CheckpointError(`checkpoint at position ${ref.pos}: chunk ${i} does not belong to it`);
  });
  return { blob: Buffer.concat(sorted.map((c) => c.value)), sha: sorted[0]!.meta.sha };
}

/** The chunk header of a checkpoint record's headers (as encodeCheckpoint() wrote them), or undefined. */
export function readCheckpointMeta(headers: Record<string, unknown> | undefined): ChunkMeta | undefined {
  return parseMeta(headers?.[CHECKPOINT_HEADER]);
}

function parseMeta(h: unknown): ChunkMeta | undefined {
  try {
    const m = JSON.parse(String(h)) as Partial<ChunkMeta>;
    if (typeof m.v === 'number' && typeof m.i === 'number' && typeof m.n === 'number' && typeof m.pos === 'number' && typeof m.sha === 'string') return m as ChunkMeta;
  } catch {
    /* not ours */
  }
  return undefined;
}

interface Waiter {
  ref: CheckpointRef;
  chunks: Map<number, { value: Buffer; meta: ChunkMeta }>;
  resolve: (c: { value: Buffer; meta: ChunkMeta }[]) => void;
  reject: (e: Error) => void;
}

/** The instance's reader of the state topic. */
export interface CheckpointReader {
  start(): Promise<void>;
  /** The chunks of `ref`, checked and decoded; throws CheckpointError (the caller rebuilds). */
  load(partition: number, ref: CheckpointRef, timeoutMs: number): Promise<PipelineState>;
  stop(): Promise<void>;
}

export function createCheckpointReader(kafka: InstanceType<typeof Kafka>, opts: { topic: string; groupId: string; log: Logger }): CheckpointReader {
  const { topic, log } = opts;
  let consumer: Consumer | undefined;
  let joined: Promise<void> | undefined;
  let markJoined: () => void = () => {};
  const waiters = new Map<number, Waiter>();

  const eachBatch = async ({ batch }: EachBatchPayload) => {
    await Promise.resolve();
    const w = waiters.get(batch.partition);
    if (!w) return;
    if (w.ref.n === 0) return;
    for (const m of batch.messages) {
      if (Number(m.offset) < w.ref.o || !m.value) continue;
      const meta = parseMeta(m.headers?.[CHECKPOINT_HEADER]);
      if (!meta) continue;
      if (meta.v !== CHECKPOINT_FORMAT) {
        w.reject(new CheckpointError(`checkpoint at position ${w.ref.pos}: record format ${meta.v}, this processor reads ${CHECKPOINT_FORMAT}`));
        return;
      }
      if (meta.pos !== w.ref.pos) {
        // past our chunks (a later checkpoint): ours were not all there (deleted by retention or compaction?)
        if (Number(m.offset) > w.ref.o) w.reject(new CheckpointError(`checkpoint at position ${w.ref.pos}: its records are gone (found the one at ${meta.pos} at offset ${m.offset})`));
        else w.reject(new CheckpointError(`checkpoint at position ${w.ref.pos}: offset ${w.ref.o} holds another one (${meta.pos})`));
        return;
      }
      w.chunks.set(meta.i, { value: Buffer.from(m.value), meta });
      if (w.chunks.size === w.ref.n) {
        w.resolve([...w.chunks.values()]);
        return;
      }
    }
  };

  return {
    async start() {
      const c = kafka.consumer({ groupId: opts.groupId, readUncommitted: false, maxWaitTimeInMs: 100, maxBytesPerPartition: 16 * 1_048_576 });
      consumer = c;
      joined = new Promise<void>((r) => (markJoined = r));
      c.on(c.events.GROUP_JOIN, () => {
        c.pause([{ topic }]);
        // partitions being loaded when a rejoin happens stay resumed
        if (waiters.size) c.resume([{ topic, partitions: [...waiters.keys()] }]);
        markJoined();
      });
      // a crash (the broker went away): kafkajs restarts the consumer, and until it has joined again a seek throws
      // "consumer#run must be called first": loads wait for the next join
      c.on(c.events.CRASH, () => {
        joined = new Promise<void>((r) => (markJoined = r));
      });
      await c.connect();
      await c.subscribe({ topic, fromBeginning: false });
      await c.run({ autoCommit: false, eachBatch });
    },
    async load(partition, ref, timeoutMs) {
      const c = consumer;
      if (!c || !joined) throw new CheckpointError('checkpoint reader not started');
      if (waiters.has(partition)) throw new CheckpointError(`checkpoint of partition ${partition} already being loaded`);
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const chunks = await new Promise<{ value: Buffer; meta: ChunkMeta }[]>((resolve, reject) => {
        const w: Waiter = { ref, chunks: new Map(), resolve, reject };
        timer = setTimeout(() => reject(new CheckpointError(`checkpoint at position ${ref.pos} (state topic ${topic} partition ${partition}, offset ${ref.o}): not read within ${timeoutMs} ms`)), timeoutMs);
        void (async () => {
          for (;;) {
            const join = joined!;
            await join;
            if (settled) return; // timed out (or done) while waiting for the join
            waiters.set(partition, w);
            try {
              c.seek({ topic, partition, offset: String(ref.o) });
              c.resume([{ topic, partitions: [partition] }]);
              return;
            } catch (e) {
              // crashed after the join we waited for: seek again once it has joined again (the timer bounds it)
              if (joined !== join) continue;
              reject(new CheckpointError(`checkpoint reader: ${(e as Error).message}`));
              return;
            }
          }
        })();
      }).finally(() => {
        settled = true;
        clearTimeout(timer);
        waiters.delete(partition);
        try {
          c.pause([{ topic, partitions: [partition] }]);
        } catch (e) {
          log.debug({ err: e, partition }, 'checkpoint reader: pause skipped');
        }
      });
      return decodeCheckpointAsync(ref, chunks);
    },
    async stop() {
      await consumer?.disconnect().catch((e: unknown) => log.warn({ err: e }, 'checkpoint reader disconnect failed'));
    },
  };
}
