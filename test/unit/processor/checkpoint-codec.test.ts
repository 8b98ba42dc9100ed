import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCheckpoint, decodeCheckpointAsync, encodeCheckpoint, encodeCheckpointAsync, readCheckpointMeta, CheckpointError } from '../../../services/processor/checkpoint.js';
import type { PipelineState } from '../../../services/processor/topology.js';

/** A state big enough to need several records (ids like a dedup horizon's, not very compressible). */
function bigState(ids: number): PipelineState {
  let x = 7;
  const rand = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
  const C = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  const id = () => Array.from({ length: 26 }, () => C[Math.floor(rand() * 32)]).join('');
  return { engine: { shape: 'test', graph: { nodes: [{ k: 's', v: Array.from({ length: ids }, id) }], root: { r: 0 } } }, seen: ['HK'], lastAdvance: 123 } as unknown as PipelineState;
}

const refOf = (recs: { headers: Record<string, string> }[], pos: number) => ({ o: 0, n: recs.length, pos, chunks: recs.map((r) => readCheckpointMeta(r.headers)!) });

void test('the async encoding (deflate and checksum off the event loop) writes the very records of the sync one, and both decoders read them back', async () => {
  const state = bigState(60_000);
  const sync = encodeCheckpoint(state, 42, 65_536);
  const async = await encodeCheckpointAsync(state, 42, 65_536);
  assert.ok(sync.length > 3, `several records (${sync.length})`);
  assert.deepEqual(async.map((r) => [r.key, r.headers, r.value.toString('base64')]), sync.map((r) => [r.key, r.headers, r.value.toString('base64')]));
  const { o, n, pos, chunks } = refOf(async, 42);
  const input = async.map((r, i) => ({ value: r.value, meta: chunks[i]! }));
  assert.deepEqual(await decodeCheckpointAsync({ o, n, pos }, [...input].reverse()), state);
  assert.deepEqual(decodeCheckpoint({ o, n, pos }, input), state);
});

void test('the async decoder refuses a damaged checkpoint and a missing chunk with the reason', async () => {
  const recs = await encodeCheckpointAsync(bigState(20_000), 7, 65_536);
  const { o, n, pos, chunks } = refOf(recs, 7);
  const input = recs.map((r, i) => ({ value: Buffer.from(r.value), meta: chunks[i]! }));
  const damaged = input[1]!.value;
  damaged[10] = damaged[10]! ^ 0xff;
  await assert.rejects(decodeCheckpointAsync({ o, n, pos }, input), (e: unknown) => e instanceof CheckpointError && /checksum mismatch/.test(e.message));
  await assert.rejects(decodeCheckpointAsync({ o, n, pos }, input.slice(1)), (e: unknown) => e instanceof CheckpointError && new RegExp(`${n - 1} of ${n} chunks`).test(e.message));
});
