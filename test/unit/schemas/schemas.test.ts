/** Wire contract and policy schemas: generated JSON Schema drift, fast (ajv) vs zod agreement, clear errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseEvent, validateEvent, EVENT_TYPES } from '../../../schemas/events.js';
import { fastValidate, parseEventFast } from '../../../schemas/validate.js';
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

test('ajv (fast path) and zod accept and reject exactly the same mutated events', () => {
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
      assert.equal(fastValidate(e).ok, validateEvent(e).ok, JSON.stringify(e));
    }),
    { numRuns: 2000, seed: 11 },
  );
});

test('drill events: ajv and zod agree on every mutation of the drill fields', () => {
  const bad: [string, unknown][] = [['action', 'pause'], ['regions', []], ['regions', ['HK', 'EU']], ['drillId', 'drill-1'], ['by', 'alice smith'], ['timeoutMs', 0], ['timeoutMs', 8 * 86_400_000], ['sha1', 'd1a2'], ['note', 'x'.repeat(1025)]];
  for (const line of drillStarts) {
    const e = JSON.parse(line) as Record<string, unknown>;
    assert.ok(validateEvent(e).ok && fastValidate(e).ok);
    for (const [k, v] of bad) {
      const m = { ...e, [k]: v };
      assert.equal(validateEvent(m).ok, false, `${k}=${JSON.stringify(v)} is refused`);
      assert.equal(fastValidate(m).ok, false, `${k}=${JSON.stringify(v)} is refused by ajv too`);
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
