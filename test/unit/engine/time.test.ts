import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TimestampParser, toMs, toIso, hourStart } from '../../../services/engine/time.js';

const YEAR_0 = Date.UTC(2000, 0, 1) - 2000 * 365.2425 * 86_400_000; // ≈ 0000-01-01
const MIN_MS = Math.ceil(YEAR_0 / 1000) * 1000 + 86_400_000;

test('toMs (fast RFC 3339 path) equals Date.parse for every wire timestamp, years 0000–9999, and falls back otherwise', () => {
  fc.assert(
    fc.property(fc.integer({ min: MIN_MS, max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }), (ms) => {
      const iso = toIso(ms);
      assert.equal(toMs(iso), Date.parse(iso));
      assert.equal(toMs(iso), ms);
      assert.ok(hourStart(ms) <= ms && ms - hourStart(ms) < 3_600_000 && hourStart(ms) % 3_600_000 === 0);
    }),
    { numRuns: 5000, seed: 3 },
  );
  // regression: years 0000–0099 stay in the first century (Date.UTC alone maps them to 1900–1999)
  for (const iso of ['0000-01-01T00:00:00.000Z', '0042-06-15T12:34:56.789Z', '0099-12-31T23:59:59.999Z']) {
    assert.equal(toMs(iso), Date.parse(iso), iso);
    assert.equal(new TimestampParser().toMs(iso), Date.parse(iso), iso);
    assert.equal(toIso(toMs(iso)), iso);
  }
  // runs within one hour, hour and day boundaries, and jumps back and forth (the parser's per-hour memory)
  fc.assert(
    fc.property(fc.integer({ min: 0, max: Date.UTC(2200, 0, 1) }), fc.array(fc.integer({ min: -7_200_000, max: 7_200_000 }), { minLength: 1, maxLength: 30 }), (base, steps) => {
      const parser = new TimestampParser();
      let ms = base;
      for (const d of steps) {
        ms = Math.max(0, ms + d);
        assert.equal(parser.toMs(toIso(ms)), ms);
      }
    }),
    { numRuns: 2000, seed: 4 },
  );
  assert.equal(toMs('2026-11-20T00:05:12Z'), Date.parse('2026-11-20T00:05:12Z'));
  assert.equal(toMs('2026-11-20T08:05:12.000+08:00'), Date.parse('2026-11-20T00:05:12.000Z'));
});

test('two parsers never share memory (one per engine / store)', () => {
  const a = new TimestampParser();
  const b = new TimestampParser();
  assert.equal(a.toMs('2026-11-20T00:05:12.283Z'), Date.parse('2026-11-20T00:05:12.283Z'));
  assert.equal(b.toMs('1999-01-02T03:04:05.006Z'), Date.parse('1999-01-02T03:04:05.006Z'));
  assert.equal(a.toMs('2026-11-20T00:59:59.999Z'), Date.parse('2026-11-20T00:59:59.999Z'));
});
