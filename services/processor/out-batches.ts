/**
 * Sizes of what a batch transaction writes: a dead letter never exceeds its topic's max.message.bytes (the key and
 * value keep as many of the original bytes as fit, with `signwatch-truncated: true` and the original length), and
 * the records of one transaction are sent in produce requests whose batch per topic-partition fits the topic's limit.
 * Sizes are upper bounds of the uncompressed record batch v2 encoding (the processor's producers do not compress).
 */
import { DLQ_HEADERS, type HeaderValue, type OutRecord } from './topology.js';

/** Record batch v2 header. */
const BATCH_OVERHEAD = 61;
/** Per record: length, attributes, timestamp delta, offset delta, key/value lengths, header count (varints, worst case). */
const RECORD_OVERHEAD = 5 + 1 + 10 + 5 + 5 + 5 + 5;
/** Kept free below the limit (varint estimates are worst cases already; this covers client quirks). */
const SLACK = 512;

const len = (v: string | Buffer | null): number => (v === null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);

function headerBytes(headers: Record<string, HeaderValue> | undefined): number {
  let n = 0;
  for (const [k, v] of Object.entries(headers ?? {})) for (const one of Array.isArray(v) ? v : [v]) n += 10 + Buffer.byteLength(k) + len(one);
  return n;
}

/** Upper bound of a record's encoded size in a batch. */
export function recordBytes(r: Pick<OutRecord, 'key' | 'value' | 'headers'>): number {
  return RECORD_OVERHEAD + len(r.key) + len(r.value) + headerBytes(r.headers);
}

const toBuffer = (v: string | Buffer): Buffer => (typeof v === 'string' ? Buffer.from(v) : v);

/**
 * A dead letter that fits `limit` (the dead-letter topic's max.message.bytes) alone in a batch: unchanged when it does;
 * else its own headers beyond a quarter of the limit are dropped, then the key and value are cut to what remains.
 */
export function fitDeadLetter(r: OutRecord, limit: number): OutRecord {
  const budget = limit - BATCH_OVERHEAD - SLACK;
  if (recordBytes(r) <= budget) return r;
  const ours = Object.values(DLQ_HEADERS) as string[];
  const headers = Object.create(null) as Record<string, HeaderValue>; // header names are input
  for (const [k, v] of Object.entries(r.headers ?? {})) if (ours.includes(k)) headers[k] = v;
  const value = toBuffer(r.value);
  headers[DLQ_HEADERS.truncated] = 'true';
  headers[DLQ_HEADERS.originalLength] = String(value.length);
  let room = Math.floor(budget / 4) - headerBytes(headers);
  for (const [k, v] of Object.entries(r.headers ?? {})) {
    if (ours.includes(k)) continue;
    const n = headerBytes({ [k]: v });
    if (n > room) continue;
    headers[k] = v;
    room -= n;
  }
  let left = budget - RECORD_OVERHEAD - headerBytes(headers);
  let key = r.key;
  if (key !== null && len(key) > left / 2) key = toBuffer(key).subarray(0, Math.max(0, Math.floor(left / 2)));
  left -= len(key);
  return { ...r, key, headers, value: value.subarray(0, Math.max(0, left)) };
}

/**
 * Split `out` into sends, in order, so that each send's records for one topic (they share a partition or not: the
 * bound is per send) add up to at most that topic's limit. A record alone over its limit gets a send of its own.
 */
export function splitSends(out: readonly OutRecord[], limitOf: (topic: string) => number): OutRecord[][] {
  const sends: OutRecord[][] = [];
  let cur: OutRecord[] = [];
  const used = new Map<string, number>();
  for (const r of out) {
    const n = recordBytes(r);
    const limit = limitOf(r.topic) - BATCH_OVERHEAD - SLACK;
    const u = used.get(r.topic) ?? 0;
    if (cur.length && u + n > limit) {
      sends.push(cur);
      cur = [];
      used.clear();
    }
    cur.push(r);
    used.set(r.topic, (used.get(r.topic) ?? 0) + n);
  }
  if (cur.length) sends.push(cur);
  return sends;
}
