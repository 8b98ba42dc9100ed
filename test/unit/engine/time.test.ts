import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toMs, toIso, hourStart } from '../../../services/engine/time.js';

test('toMs (fast RFC 3339 path) equals Date.parse for every wire timestamp, and falls back otherwise', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: Date.UTC(2200, 0, 1) }), (ms) => {
      const iso = toIso(ms);
      assert.equal(toMs(iso), Date.parse(iso));
      assert.equal(toMs(iso), ms);
      assert.ok(hourStart(ms) <= ms && ms - hourStart(ms) < 3_600_000 && hourStart(ms) % 3_600_000 === 0);
    }),
    { numRuns: 5000, seed: 3 },
  );
  // runs within one hour, hour and day boundaries, and jumps back and forth (the per-hour cache)
  fc.assert(
    fc.property(fc.integer({ min: 0, max: Date.UTC(2200, 0, 1) }), fc.array(fc.integer({ min: -7_200_000, max: 7_200_000 }), { minLength: 1, maxLength: 30 }), (base, steps) => {
      let ms = base;
      for (const d of steps) {
        ms = Math.max(0, ms + d);
        assert.equal(toMs(toIso(ms)), ms);
      }
    }),
    { numRuns: 2000, seed: 4 },
  );
  assert.equal(toMs('2026-11-20T00:05:12Z'), Date.parse('2026-11-20T00:05:12Z'));
  assert.equal(toMs('2026-11-20T08:05:12.000+08:00'), Date.parse('2026-11-20T00:05:12.000Z'));
});
