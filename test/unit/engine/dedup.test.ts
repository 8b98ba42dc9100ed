/**
 * The dedup memory against a reference (one Set per hour of event time, nothing packed): on random streams of ids,
 * duplicates in the current and in old hours, late ids and a clock that moves by minutes to days, every add()
 * answers the same, also when the Dedup is saved through JSON (the engine state codec) and restored halfway.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Dedup } from '../../../services/engine/dedup.js';
import { ClassRegistry, encodeGraph, restoreGraph, type EncodedGraph } from '../../../services/engine/state-codec.js';
import { HOUR } from '../../../services/engine/time.js';

const T0 = Date.parse('2026-11-20T00:00:00.000Z');
const HORIZON = 6 * HOUR;

class Reference {
  private readonly byHour = new Map<number, Set<string>>();
  add(id: string, ts: number): boolean {
    const hour = ts - (((ts % HOUR) + HOUR) % HOUR);
    const set = this.byHour.get(hour) ?? new Set<string>();
    this.byHour.set(hour, set);
    if (set.has(id)) return false;
    set.add(id);
    return true;
  }
  evict(clock: number): void {
    for (const hour of [...this.byHour.keys()]) if (hour + HOUR <= clock - HORIZON) this.byHour.delete(hour);
  }
}


const ops = fc.array(
  fc.oneof(
    { weight: 8, arbitrary: fc.record({ kind: fc.constant('add' as const), id: fc.nat(12), back: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 9 * HOUR }), fc.integer({ min: 2 * HOUR, max: 6 * HOUR })) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('clock' as const), step: fc.oneof(fc.integer({ min: 0, max: 20 * 60_000 }), fc.integer({ min: 0, max: 3 * HOUR }), fc.integer({ min: 0, max: 30 * HOUR })) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'save' as const }) },
  ),
  { maxLength: 500 },
);

/** Through JSON and back into a new Dedup, as a checkpoint does. */
function roundTrip(d: Dedup): Dedup {
  const classes = new ClassRegistry().collect(new Dedup(HORIZON));
  const g = JSON.parse(JSON.stringify(encodeGraph(d, new Set(), classes))) as EncodedGraph;
  return restoreGraph(g, new Dedup(HORIZON), classes) as Dedup;
}

test('dedup answers exactly like one Set per hour: old hours packed, looked up again, saved and restored', () => {
  let packedSeen = 0;
  fc.assert(
    fc.property(ops, (list) => {
      let d = new Dedup(HORIZON);
      const ref = new Reference();
      let clock = T0;
      for (const o of list) {
        if (o.kind === 'clock') {
          clock += o.step;
          d.evict(clock);
          ref.evict(clock);
        } else if (o.kind === 'save') {
          if (JSON.stringify(encodeGraph(d, new Set(), new ClassRegistry().collect(d))).includes('\\n')) packedSeen++;
          d = roundTrip(d);
        } else {
          // ids of many shapes: ULIDs, UUIDs, and one with a newline (its hour is never packed)
          const id = o.id === 0 ? 'bad\nid' : o.id % 2 ? `01M8F2M1BBB91424H56M3S${String(o.id).padStart(4, '0')}` : `0190a5c2-7e1f-7abc-8def-${String(o.id).padStart(12, '0')}`;
          const ts = clock - o.back;
          assert.equal(d.add(id, ts), ref.add(id, ts), `add(${JSON.stringify(id)}, ${new Date(ts).toISOString()}) at ${new Date(clock).toISOString()}`);
        }
      }
    }),
    { numRuns: 400, seed: 23 },
  );
  assert.ok(packedSeen > 0, 'some saved states held packed hours');
});

test('a packed hour counts its ids, and an hour with a newline id stays a Set', () => {
  const d = new Dedup(48 * HOUR);
  for (let i = 0; i < 5; i++) d.add(`01M8F2M1BBB91424H56M3S000${i}`, T0 + i);
  d.add('bad\nid', T0 + HOUR);
  d.evict(T0 + 3 * HOUR);
  const state = JSON.stringify(encodeGraph(d, new Set(), new ClassRegistry().collect(d)));
  assert.ok(state.includes('"\\n01M8F2M1BBB91424H56M3S0000\\n'), 'the first hour is one string');
  assert.ok(state.includes('"bad\\nid"'), 'the newline id is kept as a Set member');
  assert.equal(d.size, 6);
  for (let i = 0; i < 5; i++) assert.equal(d.add(`01M8F2M1BBB91424H56M3S000${i}`, T0 + 5), false, `id ${i}: a duplicate in the packed hour`);
  assert.equal(d.add('01M8F2M1BBB91424H56M3S0009', T0 + 5), true, 'a new id in it');
  assert.equal(d.size, 7);
});
