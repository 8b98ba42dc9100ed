/**
 * Record-batch codecs (services/platform/kafka-codecs.ts, registered by kafka.ts) and the sizes of what a batch
 * transaction writes (services/processor/out-batches.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { crc32c, UNDECODABLE_HEADER, zigzagVarint } from '../../../services/platform/kafka-codecs.js';
import { CompressionCodecs, DEFAULT_MAX_MESSAGE_BYTES, undecodableBatchOf } from '../../../services/platform/kafka.js';
import { fitDeadLetter, recordBytes, splitSends } from '../../../services/processor/out-batches.js';
import { DLQ_HEADERS, type OutRecord } from '../../../services/processor/topology.js';

const require = createRequire(import.meta.url);
const lz4 = require('lz4js') as { compress(b: Uint8Array): Uint8Array };

const varint = zigzagVarint;

/** Records as Kafka frames them inside a batch (no headers). */
function records(values: string[]): Buffer {
  return Buffer.concat(
    values.map((v, i) => {
      const body = Buffer.concat([Buffer.from([0]), varint(0), varint(i), varint(-1), varint(Buffer.byteLength(v)), Buffer.from(v), varint(0)]);
      return Buffer.concat([varint(body.length), body]);
    }),
  );
}

/** A v2 batch in a larger "fetch response" buffer; returns the slice of its (compressed) records, as kafkajs passes it. */
function batch(codec: number, payload: Buffer, count: number, firstOffset = 40n, corruptCrc = false): Buffer {
  const after = Buffer.alloc(40); // attributes .. count
  after.writeInt16BE(codec, 0);
  after.writeInt32BE(count - 1, 2); // last offset delta
  after.writeBigInt64BE(1_700_000_000_000n, 6);
  after.writeBigInt64BE(1_700_000_000_000n, 14);
  after.writeBigInt64BE(-1n, 22);
  after.writeInt16BE(-1, 30);
  after.writeInt32BE(-1, 32);
  after.writeInt32BE(count, 36);
  const crcd = Buffer.concat([after, payload]);
  const head = Buffer.alloc(21);
  head.writeBigInt64BE(firstOffset, 0);
  head.writeInt32BE(49 + payload.length, 8);
  head.writeInt32BE(0, 12);
  head.writeInt8(2, 16);
  head.writeUInt32BE((crc32c(crcd) ^ (corruptCrc ? 1 : 0)) >>> 0, 17);
  const whole = Buffer.concat([Buffer.alloc(100, 7), head, crcd, Buffer.alloc(30, 9)]);
  return whole.subarray(100 + 61, 100 + 61 + payload.length);
}

/** Decode the records kafkajs would decode from `buf`: headers, value and offset delta of each. */
function decodeRecords(buf: Buffer, count: number): { offsetDelta: number; value: Buffer | null; headers: Record<string, Buffer> }[] {
  let o = 0;
  const rv = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = buf[o++]!;
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  };
  const bytes = (): Buffer | null => {
    const n = rv();
    if (n < 0) return null;
    const b = buf.subarray(o, o + n);
    o += n;
    return b;
  };
  const out = [];
  for (let i = 0; i < count; i++) {
    rv(); // length
    o++; // attributes
    rv(); // timestamp delta
    const offsetDelta = rv();
    bytes(); // key
    const value = bytes();
    const headers: Record<string, Buffer> = {};
    const h = rv();
    for (let j = 0; j < h; j++) headers[bytes()!.toString()] = bytes()!;
    out.push({ offsetDelta, value, headers });
  }
  assert.equal(o, buf.length, 'every byte decoded');
  return out;
}

const codec = (id: number) => (CompressionCodecs as unknown as Record<number, () => { decompress(b: Buffer): Promise<Buffer> }>)[id]!();

void test('crc32c: the standard check value', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
});

void test('a good gzip / lz4 batch decodes to its records', async () => {
  const recs = records(['a', 'bb', 'ccc']);
  assert.deepEqual(await codec(1).decompress(batch(1, gzipSync(recs), 3)), recs);
  assert.deepEqual(Buffer.from(await codec(3).decompress(batch(3, Buffer.from(lz4.compress(recs)), 3))), recs);
});

void test('a corrupt batch (CRC mismatch) becomes one marker per record at its last offset, naming the offsets', async () => {
  const out = await codec(1).decompress(batch(1, gzipSync(records(['a', 'bb', 'ccc'])), 3, 40n, true));
  const recs = decodeRecords(out, 3);
  assert.ok(recs.every((r) => r.offsetDelta === 2 && r.headers[UNDECODABLE_HEADER] !== undefined));
  const b = undecodableBatchOf(recs[0]!.headers, recs[0]!.value);
  assert.deepEqual({ ...b, why: undefined }, { firstOffset: '40', lastOffset: '42', codec: 'gzip', records: 3, why: undefined });
  assert.match(b!.why, /CRC-32C mismatch/);
});

void test('a payload the decoder rejects, or codec id 5, becomes markers too; without a readable header the error is thrown', async () => {
  const garbage = Buffer.from('this is not gzip at all');
  const recs = decodeRecords(await codec(1).decompress(batch(1, garbage, 2, 7n)), 2);
  assert.match(undecodableBatchOf(recs[1]!.headers, recs[1]!.value)!.why, /^gzip: /);
  const five = decodeRecords(await codec(5).decompress(batch(5, garbage, 1)), 1);
  assert.equal(undecodableBatchOf(five[0]!.headers, five[0]!.value)!.codec, 'unknown(5)');
  await assert.rejects(codec(1).decompress(Buffer.from(garbage)));
  // a forged marker (another process's nonce, or plain headers) is an ordinary record
  assert.equal(undecodableBatchOf({ 'signwatch-undecodable-000000000000': Buffer.from('1') }, Buffer.from('{}')), undefined);
});

void test('an uncompressed batch passes the same checks: good records unchanged, a CRC mismatch or bad framing becomes markers', async () => {
  const recs = records(['a', 'bb', 'ccc']);
  assert.deepEqual(await codec(0).decompress(batch(0, recs, 3)), recs, 'identity for a good batch');
  const crc = decodeRecords(await codec(0).decompress(batch(0, recs, 3, 90n, true)), 3);
  const b = undecodableBatchOf(crc[0]!.headers, crc[0]!.value)!;
  assert.deepEqual([b.firstOffset, b.lastOffset, b.codec, b.records], ['90', '92', 'none', 3]);
  assert.match(b.why, /CRC-32C mismatch/);
  // a batch whose CRC matches but whose framing does not hold its record count (a producer writing garbage)
  const framing = decodeRecords(await codec(0).decompress(batch(0, recs.subarray(0, recs.length - 2), 3)), 3);
  assert.match(undecodableBatchOf(framing[2]!.headers, framing[2]!.value)!.why, /do not hold 3 records/);
  // not a v2 batch (a v0/v1 message set): refused in words, never decoded as something else
  await assert.rejects(codec(0).decompress(Buffer.from(recs)), /message set of format v0\/v1/);
});

void test('zstd and snappy are registered decoders (no KafkaJSNotImplemented)', () => {
  for (const id of [2, 3, 4]) assert.equal(typeof codec(id).decompress, 'function');
});

const dl = (value: Buffer, headers: Record<string, string> = {}): OutRecord => ({
  topic: 'dlq',
  key: 'HK',
  value,
  headers: { [DLQ_HEADERS.reason]: 'oversized: …', [DLQ_HEADERS.offset]: '5', ...headers },
  counts: { kind: 'dead-letter', reason: 'oversized' },
});

void test('fitDeadLetter: a record that fits is unchanged; a 1,048,400-byte one is cut to fit, marked, own headers kept', () => {
  const small = dl(Buffer.alloc(1000));
  assert.equal(fitDeadLetter(small, DEFAULT_MAX_MESSAGE_BYTES), small);
  const big = Buffer.alloc(1_048_400, 1);
  const f = fitDeadLetter(dl(big, { trace: 'abc' }), DEFAULT_MAX_MESSAGE_BYTES);
  assert.ok(recordBytes(f) + 61 <= DEFAULT_MAX_MESSAGE_BYTES);
  assert.equal(f.headers![DLQ_HEADERS.truncated], 'true');
  assert.equal(f.headers![DLQ_HEADERS.originalLength], '1048400');
  assert.equal(f.headers!.trace, 'abc');
  assert.equal(f.headers![DLQ_HEADERS.offset], '5');
  assert.ok((f.value as Buffer).length > 1_040_000);
  // a huge key and huge own headers still fit
  const g = fitDeadLetter({ ...dl(big, { huge: 'h'.repeat(600_000) }), key: Buffer.alloc(900_000) }, 100_000);
  assert.ok(recordBytes(g) + 61 <= 100_000);
  assert.equal(g.headers!.huge, undefined);
});

void test('splitSends: four 300 KB dead letters go in sends that each fit; small outputs stay in one send, in order', () => {
  const four = [0, 1, 2, 3].map(() => dl(Buffer.alloc(300 * 1024)));
  const sends = splitSends(four, () => DEFAULT_MAX_MESSAGE_BYTES);
  assert.ok(sends.length >= 2);
  for (const s of sends) assert.ok(s.reduce((a, r) => a + recordBytes(r), 0) + 61 <= DEFAULT_MAX_MESSAGE_BYTES);
  assert.deepEqual(sends.flat(), four);
  const small = Array.from({ length: 50 }, () => dl(Buffer.alloc(100)));
  assert.equal(splitSends(small, () => DEFAULT_MAX_MESSAGE_BYTES).length, 1);
});
