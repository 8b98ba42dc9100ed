/**
 * Record-batch codecs for the Kafka client (registered by kafka.ts, the only file that imports kafkajs): every codec
 * Kafka defines decodes in every consumer, with pure-JS decoders that install everywhere (no native build):
 *
 *   snappy  kafkajs-snappy (snappyjs; raw and xerial-framed, what librdkafka and the Java client write)
 *   lz4     lz4js (the LZ4 *frame* format that record batches v2 carry)
 *   zstd    fzstd (decoder only: producers never pick zstd, see docs/processor.md "Codecs")
 *   gzip    kafkajs' own (node:zlib)
 *
 *   none    registered too, as the identity: kafkajs then hands uncompressed batches to it like compressed ones (same
 *           layout: record count, then the records), so they pass the same checks (producers are not affected:
 *           kafkajs writes uncompressed batches without looking a codec up)
 *
 * A batch that still cannot be decoded (corrupt bytes, codec ids 5-7 that Kafka does not define, a decoder error)
 * must not stop the consumer: the decoder then returns, in place of the batch's records, `count` marker records at the
 * batch's last offset. Their value names the batch (first/last offset, codec, why) and one header, whose name holds a
 * per-process nonce so that no producer can forge it, marks them. The processor dead-letters one marker per batch
 * (reason `undecodable_batch`) and moves past it. The batch header is read from the bytes that precede the records in
 * the fetch response (Kafka's wire format, checked against the batch length and its CRC-32C); when those bytes are not
 * there, the decode error is thrown as before.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { decompress as zstdDecompress } from 'fzstd';

const require = createRequire(import.meta.url);
const snappyCodec = (require('kafkajs-snappy') as () => KafkaCodec)();
const lz4 = require('lz4js') as { decompress(src: Uint8Array, maxSize?: number): Uint8Array; compress(src: Uint8Array): Uint8Array };

/** The codec shape kafkajs calls: compress(encoder) for producing, decompress(buffer) for every fetched batch. */
export interface KafkaCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** Kafka's codec ids (record batch attributes & 0x07). */
export const CODEC_IDS = { snappy: 2, lz4: 3, zstd: 4 } as const;
const CODEC_NAMES: Record<number, string> = { 0: 'none', 1: 'gzip', 2: 'snappy', 3: 'lz4', 4: 'zstd' };

/** Header marking a record that stands for an undecodable batch (the nonce is this process's). */
export const UNDECODABLE_HEADER = `signwatch-undecodable-${randomBytes(6).toString('hex')}`;

export interface UndecodableBatch {
  firstOffset: string;
  lastOffset: string;
  codec: string;
  records: number;
  why: string;
}

/** A decompressed batch larger than this is refused (a corrupt length must not allocate gigabytes). */
const MAX_DECOMPRESSED = 256 * 1_048_576;
/** More marker records than this are not built (the batch count is a corrupt header's then). */
const MAX_MARKERS = 2_000_000;
/** FirstOffset(8) Length(4) LeaderEpoch(4) Magic(1) CRC(4) Attributes(2) LastOffsetDelta(4) FirstTs(8) MaxTs(8) ProducerId(8) Epoch(2) FirstSeq(4) Count(4) */
const BATCH_HEADER = 61;

let crcTable: Uint32Array | undefined;
/** CRC-32C (Castagnoli), what a record batch carries over attributes..end. */
export function crc32c(buf: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < buf.length; i++) crc = crcTable[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

interface BatchHeader {
  firstOffset: bigint;
  lastOffsetDelta: number;
  count: number;
  codec: number;
  crcOk: boolean;
}

/** The v2 batch header right before `records` in the same fetch buffer, when it is there and consistent. */
function batchHeaderOf(records: Buffer): BatchHeader | undefined {
  if (records.byteOffset < BATCH_HEADER) return undefined;
  const whole = Buffer.from(records.buffer, records.byteOffset - BATCH_HEADER, BATCH_HEADER + records.length);
  const length = whole.readInt32BE(8);
  if (whole.readInt8(16) !== 2 || length !== BATCH_HEADER - 12 + records.length) return undefined;
  const crcOk = whole.readUInt32BE(17) === crc32c(whole.subarray(21));
  return { firstOffset: whole.readBigInt64BE(0), lastOffsetDelta: whole.readInt32BE(23), count: whole.readInt32BE(57), codec: whole.readInt16BE(21) & 0x07, crcOk };
}

/** Kafka's zigzag varint (record framing); exported for the tests that build batches by hand. */
export function zigzagVarint(n: number): Buffer {
  let v = n >= 0 ? n * 2 : -n * 2 - 1;
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** `count` v2 records at offset delta `lastOffsetDelta`, each with the marker header, value = the batch description. */
function markerRecords(h: BatchHeader, why: string): Buffer {
  const d: UndecodableBatch = {
    firstOffset: String(h.firstOffset),
    lastOffset: String(h.firstOffset + BigInt(h.lastOffsetDelta)),
    codec: CODEC_NAMES[h.codec] ?? `unknown(${h.codec})`,
    records: h.count,
    why: why.slice(0, 300),
  };
  const value = Buffer.from(JSON.stringify(d));
  const hk = Buffer.from(UNDECODABLE_HEADER);
  const body = Buffer.concat([
    Buffer.from([0]), // attributes
    zigzagVarint(0), // timestamp delta
    zigzagVarint(h.lastOffsetDelta),
    zigzagVarint(-1), // key: null
    zigzagVarint(value.length),
    value,
    zigzagVarint(1), // one header
    zigzagVarint(hk.length),
    hk,
    zigzagVarint(1),
    Buffer.from('1'),
  ]);
  const one = Buffer.concat([zigzagVarint(body.length), body]);
  const all = Buffer.allocUnsafe(one.length * h.count);
  all.fill(one);
  return all;
}

/** The decompressed records hold exactly `count` length-prefixed records (else decoding them would throw later). */
function framesOk(buf: Buffer, count: number): boolean {
  let o = 0;
  for (let i = 0; i < count; i++) {
    let shift = 0;
    let v = 0;
    for (;;) {
      if (o >= buf.length || shift > 28) return false;
      const b = buf[o++]!;
      v |= (b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    const len = (v >>> 1) ^ -(v & 1);
    if (len < 0 || o + len > buf.length) return false;
    o += len;
  }
  return o === buf.length;
}

/** Wrap a decoder: a batch it cannot decode becomes marker records (or the error, without a readable header). */
function guarded(codecId: number, decode: (b: Buffer) => Promise<Buffer> | Buffer, compress: KafkaCodec['compress']): () => KafkaCodec {
  const codec: KafkaCodec = {
    compress,
    async decompress(buffer) {
      const h = batchHeaderOf(buffer);
      // codec 0 is only ever asked for the records of a v2 batch; a v0/v1 message set (Kafka < 0.11) has no such header
      if (!h && codecId === 0) throw new Error('an uncompressed message set of format v0/v1 (Kafka < 0.11) is not supported: signwatch reads record batches v2');
      let why: string;
      if (h && !h.crcOk) why = 'CRC-32C mismatch: the batch bytes are corrupt';
      else {
        try {
          const out = await decode(buffer);
          if (!h || framesOk(out, h.count)) return out;
          why = `decoded ${out.length} bytes that do not hold ${h.count} records`;
        } catch (e) {
          if (!h) throw e;
          why = `${CODEC_NAMES[codecId] ?? `codec ${codecId}`}: ${(e as Error).message}`;
        }
      }
      if (h.count <= 0 || h.count > MAX_MARKERS) throw new Error(`undecodable record batch at offset ${h.firstOffset} (${why}) with an implausible record count ${h.count}`);
      return markerRecords(h, why);
    },
  };
  return () => codec;
}

const noCompress = (name: string) => (): Promise<Buffer> => Promise.reject(new Error(`signwatch producers do not write ${name} (decoding only)`));

function bounded(out: Uint8Array): Buffer {
  if (out.length > MAX_DECOMPRESSED) throw new Error(`decompressed batch exceeds ${MAX_DECOMPRESSED} bytes`);
  return Buffer.from(out.buffer, out.byteOffset, out.length);
}

/** lz4 frame: refuse a declared size beyond the bound before allocating it. */
function lz4Decode(b: Buffer): Buffer {
  return bounded(lz4.decompress(b, lz4MaxSize(b)));
}

function lz4MaxSize(b: Buffer): number | undefined {
  // FLG byte: content-size flag 0x08; the 8-byte size follows BD
  if (b.length >= 14 && b.readUInt32LE(0) === 0x184d2204 && (b[4]! & 0x08) !== 0) {
    const size = Number(b.readBigUInt64LE(6));
    if (size > MAX_DECOMPRESSED) throw new Error(`lz4 frame declares ${size} bytes`);
    return size;
  }
  return undefined;
}

/** Codec id → codec factory, for kafkajs' CompressionCodecs (gzip stays kafkajs' own; 5-7 are undefined by Kafka). */
export function codecFactories(gzip: () => KafkaCodec): Record<number, () => KafkaCodec> {
  const g = gzip();
  return {
    // none: registered so that uncompressed batches pass the same CRC and framing checks (kafkajs would otherwise decode
    // them itself, and a corrupt one would crash the consumer at the same offset forever); the "decoder" is the identity
    0: guarded(0, (b) => b, noCompress('codec 0 through a codec (kafkajs writes uncompressed batches itself)')),
    1: guarded(1, (b) => g.decompress(b), (e) => g.compress(e)),
    [CODEC_IDS.snappy]: guarded(2, (b) => snappyCodec.decompress(b), (e) => snappyCodec.compress(e)),
    [CODEC_IDS.lz4]: guarded(3, lz4Decode, (e) => Promise.resolve(Buffer.from(lz4.compress(e.buffer)))),
    [CODEC_IDS.zstd]: guarded(4, (b) => bounded(zstdDecompress(b)), noCompress('zstd')),
    5: guarded(5, () => Promise.reject(new Error('codec id 5 is not defined by Kafka')), noCompress('codec 5')),
    6: guarded(6, () => Promise.reject(new Error('codec id 6 is not defined by Kafka')), noCompress('codec 6')),
    7: guarded(7, () => Promise.reject(new Error('codec id 7 is not defined by Kafka')), noCompress('codec 7')),
  };
}

/** The batch an undecodable-marker record stands for, or undefined for an ordinary record. */
export function undecodableBatchOf(headers: Record<string, unknown> | undefined, value: Buffer | null): UndecodableBatch | undefined {
  if (!headers || headers[UNDECODABLE_HEADER] === undefined || !value) return undefined;
  try {
    return JSON.parse(value.toString('utf8')) as UndecodableBatch;
  } catch {
    return undefined;
  }
}
