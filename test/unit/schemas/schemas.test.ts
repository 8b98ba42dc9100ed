/**
 * Wire contract and policy schemas: generated JSON Schema drift, agreement of the three event validators (zod, the
 * source; the hand-written check of the fast path, schemas/event-check.ts; ajv from the generated JSON Schema),
 * clear errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseEvent, validateEvent, EVENT_TYPES } from '../../../schemas/events.js';
import { ajvValidate, fastValidate, parseEventFast } from '../../../schemas/validate.js';
import { isEvent } from '../../../schemas/event-check.js';
import { parsePolicy, PolicyError } from '../../../services/engine/policy.js';
import { schemaFiles } from '../../../scripts/generate.js';
import { simulate } from '../../../services/simulate/simulate.js';
import { defaultDrillScenario, drillScenarioLines } from '../../../services/simulate/drill-scenario.js';

const root = process.cwd();

test('committed JSON Schema files match the zod source (run `npm run generate` after changing a schema)', () => {
  for (const [rel, text] of Object.entries(schemaFiles())) {
    assert.equal(readFileSync(join(root, rel), 'utf8'), text, `${rel} drifted from schemas/*.ts`);
  }
});

const drillStarts = drillScenarioLines(defaultDrillScenario(Date.parse('2026-11-20T01:00:00.000Z'))).filter((l) => l.includes('"type":"drill"'));
const sample = [...simulate({ start: Date.parse('2026-11-20T00:00:00.000Z'), events: 3000, seed: 3, incidents: [{ kind: 'acl', region: 'HK', at: Date.parse('2026-11-20T00:10:00.000Z') }] }), ...drillStarts].map((l) => JSON.parse(l) as Record<string, unknown>);

test('the simulator (with the drill scenario’s drill events) covers every event type and every simulated event is valid', () => {
  const types = new Set(sample.map((e) => e.type));
  assert.deepEqual([...types].sort(), [...EVENT_TYPES].sort());
  for (const e of sample) assert.ok(validateEvent(e).ok, JSON.stringify(e));
});

test('the fast path, ajv and zod accept and reject exactly the same mutated events', () => {
  const mutations: ((e: Record<string, unknown>) => void)[] = [
    (e) => (e.region = 'EU'),
    (e) => (e.v = 2),
    (e) => (e.ts = '2026-11-20T00:00:00Z'),
    (e) => (e.ts = '2026-02-30T00:00:00.000Z'),
    (e) => delete e.host,
    (e) => (e.id = 'not-a-ulid'),
    (e) => (e.type = 'bogus'),
    (e) => (e.durationMs = -1),
    (e) => (e.durationMs = 1.5),
    (e) => (e.partitionIds = 'apple:'),
    (e) => (e.error = { code: 'x', osStatus: 'n', class: 'keychain', message: '' }),
    (e) => (e.extraField = { anything: true }),
    (e) => (e.sha1 = 'abc'),
    (e) => (e.offsetMs = 'fast'),
    (e) => (e.declared = 'yes'),
    (e) => (e.pool = 'build'),
    (e) => (e.action = 'pause'),
    (e) => (e.regions = []),
    (e) => (e.regions = ['HK', 'EU']),
    (e) => (e.drillId = 'drill-1'),
    (e) => (e.by = 'alice smith'),
    (e) => (e.timeoutMs = 0),
    (e) => (e.via = 'gradle'),
    (e) => (e.via = 'xcodebuild'),
    (e) => (e.identityName = ''),
    () => undefined,
  ];
  fc.assert(
    fc.property(fc.nat(sample.length - 1), fc.nat(mutations.length - 1), (i, m) => {
      const e = structuredClone(sample[i]!);
      mutations[m]!(e);
      const zod = validateEvent(e).ok;
      assert.equal(fastValidate(e).ok, zod, JSON.stringify(e));
      assert.equal(ajvValidate(e).ok, zod, `ajv: ${JSON.stringify(e)}`);
    }),
    { numRuns: 2000, seed: 11 },
  );
});

/** Values to put anywhere: each type's edges (lengths, integers, finiteness, formats) and the wrong types. */
const edgeValue = fc.oneof(
  fc.constantFrom<unknown>(
    undefined, null, true, false, 0, -0, 1, -1, 1.5, 2 ** 53, 2 ** 53 - 1, -(2 ** 53), 86_400_000, 86_400_001, 100, 101, 7 * 86_400_000, 7 * 86_400_000 + 1,
    Infinity, -Infinity, NaN, '', 'x', 'x'.repeat(10), 'x'.repeat(32), 'x'.repeat(33), 'x'.repeat(64), 'x'.repeat(65), 'x'.repeat(128), 'x'.repeat(129),
    'x'.repeat(253), 'x'.repeat(254), 'x'.repeat(256), 'x'.repeat(257), 'x'.repeat(512), 'x'.repeat(513), 'x'.repeat(1024), 'x'.repeat(1025), 'é'.repeat(1024), '😀'.repeat(512), '😀'.repeat(513), '\ud83d'.repeat(1025), '\ude00\ud83d'.repeat(512), '😀'.repeat(32) + 'x', '😀',
    'HK', 'EU', 'hk', 'signing', 'compile', 'ok', 'fail', 'error', 'keychain', 'apple_api', 'sign', 'verify', 'start', 'stop', 'fastlane', 'exec', 'codesign', 'heartbeat',
    '01M7V41F2Y2K33AE8K248PTFFZ', '81M7V41F2Y2K33AE8K248PTFFZ', '01M7V41F2Y2K33AE8K248PTFFI', '01m7v41f2y2k33ae8k248ptffz', '01M7V41F2Y2K33AE8K248PTFF',
    '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', '0190a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5b', '0190a1b2-c3d4-7e5f-ca9b-0c1d2e3f4a5b', '0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B', '0190a1b2c3d4-7e5f-8a9b-0c1d2e3f4a5b-',
    '2026-11-20T00:00:00.000Z', '2026-11-20T00:00:00Z', '2026-02-29T00:00:00.000Z', '2024-02-29T00:00:00.000Z', '2000-02-29T00:00:00.000Z', '1900-02-29T00:00:00.000Z',
    '1969-12-31T23:59:59.999Z', '1970-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z', '2026-04-31T00:00:00.000Z', '2026-13-01T00:00:00.000Z', '2026-00-10T00:00:00.000Z',
    '2026-11-20T24:00:00.000Z', '2026-11-20T23:60:00.000Z', '2026-11-20T23:59:60.000Z', '2026-11-20t00:00:00.000Z', '2026-11-20T00:00:00.000+00:00', '２026-11-20T00:00:00.000Z',
    '9A8051AFE7C704E05DD6CD9202A7875ACD1E85D8', '9a8051afe7c704e05dd6cd9202a7875acd1e85d8', '9A8051AFE7C704E05DD6CD9202A7875ACD1E85D', '9A8051AFE7C704E05DD6CD9202A7875ACD1E85DG',
    'a3f1c9d2e4b5a6978812c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718', 'ABCDE12345', 'abcde12345', 'alice', 'alice smith', '.alice',
    '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', '01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'b7ad6b7169203331', 'B7AD6B7169203331',
  ),
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom<unknown>([], [''], ['x'], ['HK'], ['HK', 'EU'], ['HK', 'JP', 'KR', 'SG', 'US', 'HK'], Array(65).fill('x'), Array(257).fill('9A8051AFE7C704E05DD6CD9202A7875ACD1E85D8'), ['9A8051AFE7C704E05DD6CD9202A7875ACD1E85D8', 'x'], {}, { class: 'keychain' }),
  fc.constantFrom<unknown>(
    { code: 'x', osStatus: null, class: 'keychain', message: '' },
    { code: 'x', osStatus: 1.5, class: 'keychain', message: '' },
    { code: '', osStatus: 0, class: 'keychain', message: '' },
    { code: 'x', osStatus: 0, message: 'm' },
    { class: 'apple_api', message: 'm' },
    { class: 'apple_api', code: 'x'.repeat(129), message: 'm' },
    { class: 'auth', code: 'c' },
    [{ class: 'network' }],
    [{ class: 'network', code: 1 }],
    [{ name: 'a', ok: true, detail: '' }],
    [{ name: 'a', ok: 'yes', detail: '' }],
    [{ name: '', ok: true, detail: '' }],
    [{ name: 'a', ok: true, detail: '', fix: 'x'.repeat(1025) }],
  ),
);

test('the fast path, ajv and zod agree on every field of every event type set to edge values, removed or added', () => {
  fc.assert(
    fc.property(fc.nat(sample.length - 1), fc.array(fc.tuple(fc.nat(60), edgeValue, fc.boolean()), { minLength: 1, maxLength: 3 }), (i, edits) => {
      const e = structuredClone(sample[i]!);
      const keys = [...new Set([...Object.keys(e), 'correlationId', 'traceparent', 'parentSpanId', 'identity', 'error', 'operation', 'via', 'target', 'targetName', 'identityName', 'submissionId', 'attemptErrors', 'teamId', 'revoked', 'outcome', 'offsetMs', 'reason', 'debug', 'keychain', 'spoolDepth', 'spoolDropped', 'certSha1s', 'notaryProfile', 'command', 'note', 'timeoutMs', 'sha1', 'fix'])];
      for (const [k, v, drop] of edits) {
        const key = keys[k % keys.length]!;
        if (drop) delete e[key];
        else e[key] = v;
      }
      const zod = validateEvent(e).ok;
      assert.equal(isEvent(e), zod, `fast path: ${JSON.stringify(e)}`);
      // ajv only on what JSON can carry (it takes NaN for a number; JSON.parse never makes one, nor undefined)
      const json = edits.every(([, v, drop]) => drop || (v !== undefined && (typeof v !== 'number' || Number.isFinite(v))));
      if (json) assert.equal(ajvValidate(e).ok, zod, `ajv: ${JSON.stringify(e)}`);
    }),
    { numRuns: Number(process.env.PROPERTY_RUNS ?? 20000), seed: Number(process.env.PROPERTY_SEED ?? 23) },
  );
});

test('the fast path refuses what zod refuses with zod’s reason, and non-objects', () => {
  for (const v of [null, 1, 'x', [], [sample[0]], true]) {
    assert.equal(isEvent(v), false);
    assert.deepEqual(fastValidate(v), validateEvent(v));
  }
  for (const e of sample.slice(0, 200)) {
    const bad = { ...e, ts: '2026-02-30T00:00:00.000Z' };
    assert.deepEqual(fastValidate(bad), validateEvent(bad));
    assert.deepEqual(fastValidate(e), { ok: true, event: e }, 'a valid event is returned as is');
  }
});

test('drill events: ajv and zod agree on every mutation of the drill fields', () => {
  const bad: [string, unknown][] = [['action', 'pause'], ['regions', []], ['regions', ['HK', 'EU']], ['drillId', 'drill-1'], ['by', 'alice smith'], ['timeoutMs', 0], ['timeoutMs', 8 * 86_400_000], ['sha1', 'd1a2'], ['note', 'x'.repeat(1025)]];
  for (const line of drillStarts) {
    const e = JSON.parse(line) as Record<string, unknown>;
    assert.ok(validateEvent(e).ok && fastValidate(e).ok);
    for (const [k, v] of bad) {
      const m = { ...e, [k]: v };
      assert.equal(validateEvent(m).ok, false, `${k}=${JSON.stringify(v)} is refused`);
      assert.equal(fastValidate(m).ok, false, `${k}=${JSON.stringify(v)} is refused by the fast path too`);
      assert.equal(ajvValidate(m).ok, false, `${k}=${JSON.stringify(v)} is refused by ajv too`);
    }
  }
});

test('bad input is a value with a reason, never an exception', () => {
  const fast = parseEventFast('{"v":1');
  assert.ok(!fast.ok && fast.reason.startsWith('not JSON'));
  const r = parseEvent('{"v":1');
  assert.ok(!r.ok && r.reason.startsWith('not JSON'));
  const big = parseEventFast('x'.repeat(70_000));
  assert.ok(!big.ok && big.reason.startsWith('oversized'));
  const bad = parseEventFast(JSON.stringify({ ...sample[0], region: 'EU' }));
  assert.ok(!bad.ok && /region/.test(bad.reason), !bad.ok ? bad.reason : '');
});

test('policy: defaults are the source article thresholds; errors name the key', () => {
  const p = parsePolicy({});
  assert.equal(p.alerts.codesign_keychain_failures.threshold, 2);
  assert.equal(p.alerts.codesign_keychain_failures.window, 3_600_000);
  assert.equal(p.alerts.unlock_latency_p95.thresholdMs, 800);
  assert.equal(p.alerts.unlock_latency_p95.minSamples, 5);
  assert.equal(p.alerts.cert_expiry.days, 21);
  assert.equal(p.allowedLateness, 300_000);
  assert.ok(Object.isFrozen(p.alerts.cert_expiry));
  assert.equal(parsePolicy({ allowedLateness: '2m' }).allowedLateness, 120_000);
  assert.throws(() => parsePolicy({ alerts: { unlock_latency_p95: { thresholdMs: 'fast' } } }), (e: unknown) => e instanceof PolicyError && /alerts\.unlock_latency_p95\.thresholdMs/.test(e.message));
  assert.throws(() => parsePolicy({ allowedLateness: '5 minutes' }), /allowedLateness.*not a duration/);
  assert.throws(() => parsePolicy({ alerts: { codesign_keychain_failures: { treshold: 3 } } }), /treshold/);
});
