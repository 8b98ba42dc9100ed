/**
 * Property test: on thousands of random streams (out of order, late, duplicated, all event types, window and
 * staleness edges), the engine gives exactly the transitions of the brute-force reference. And the hourly
 * DDSketch p95 stays within its stated 1 % relative error of the exact p95.
 */
import { test } from 'node:test';
import { RULES } from '../../../services/engine/rules/index.js';
import { isFleetRule } from '../../../services/engine/rules/definition.js';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { SignEvent } from '../../../schemas/events.js';
import { parsePolicy } from '../../../services/engine/policy.js';
import { createEngine, MemorySink } from '../../../services/engine/engine.js';
import { DDSketch } from '@datadog/sketches-js';
import { SKETCH_RELATIVE_ACCURACY } from '../../../services/engine/hourly.js';
import { validateEvent } from '../../../schemas/events.js';
import { damp, reference, type RefTransition } from './reference.js';
import { T0, min, day, kcFail, unlock, cert, clock, heartbeat, acl } from './helpers.js';
import { build, op, policyInput, REG } from './streams.js';

const policy = parsePolicy(policyInput);

const canon = (ts: RefTransition[]) =>
  ts.map((t) => `${t.at} ${t.alert} ${JSON.stringify(t.labels, Object.keys(t.labels).sort())} ${t.state} ${t.value}`).sort();

test('engine == brute-force reference on random streams (transitions and outcomes)', () => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), fc.option(fc.integer({ min: 0, max: day(1) }), { nil: undefined }), (ops, extra) => {
      const events = build(ops);
      for (const e of events) assert.ok(validateEvent(e).ok, 'generated events are valid wire events');
      const last = events.reduce((m, e) => Math.max(m, Date.parse(e.ts)), T0);
      const until = extra === undefined ? undefined : last + extra;
      const sink = new MemorySink();
      const engine = createEngine(policy, sink);
      const outcomes = events.map((e) => engine.offer(e));
      if (until !== undefined) engine.advanceTo(until);
      const ref = reference(events, policy, until);
      assert.deepEqual(outcomes, ref.outcomes);
      const got = sink.transitions.map((t) => ({ alert: t.alert, labels: t.labels, state: t.state, at: Date.parse(t.at), value: t.value }));
      for (const t of got) seen.add(`${t.alert}/${t.state}`);
      assert.deepEqual(canon(got), canon(ref.transitions));
      // emitted in time order per region, and the fleet alerts in time order on the fleet's own clock
      const fleet = new Set<string>(RULES.filter(isFleetRule).map((r) => r.name));
      for (const region of REG) {
        const ats = got.filter((t) => t.labels.region === region && !fleet.has(t.alert)).map((t) => t.at);
        assert.deepEqual(ats, [...ats].sort((a, b) => a - b));
      }
      const fleetAts = got.filter((t) => fleet.has(t.alert)).map((t) => t.at);
      assert.deepEqual(fleetAts, [...fleetAts].sort((a, b) => a - b));
    }),
    { numRuns: Number(process.env.PROPERTY_RUNS ?? 3000), seed: Number(process.env.PROPERTY_SEED ?? 20261126) },
  );
  // the generator must exercise every rule both ways, or the comparison proves little
  // (every alert of the registry: a new alert needs its brute-force model in reference.ts before this passes)
  const expected = RULES.map((r) => r.name);
  for (const a of expected) for (const st of ['firing', 'resolved']) assert.ok(seen.has(`${a}/${st}`), `no ${a} ${st} transition in any random stream`);
});

// Hostile input (docs/engine.md, "Bounded event time"): events from evil hosts stamped in the future of their
// reference time, far in the past, or in year 0 (a schema error), mixed into honest streams. Every honest transition
// is still produced, at the same instant: only the evil hosts' own clock_skew (and, for the far past, instants long
// before the honest stream) may differ.
const hostile = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('future', 'future', 'future', 'far-past', 'year-0'),
  type: fc.constantFrom('kc', 'clock', 'hb', 'cert', 'unlock', 'acl'),
  ahead: fc.oneof(fc.integer({ min: min(5) + 1, max: min(120) }), fc.constantFrom(min(5) + 1, day(365 * 3000))),
  region: fc.integer({ min: 0, max: 1 }),
});

function evil(kind: string, type: string, ts: number, region: 'HK' | 'JP'): SignEvent {
  const host = `evil-${region.toLowerCase()}-9`;
  const e = ((): SignEvent => {
    switch (type) {
      case 'kc': return kcFail(ts, region, host);
      case 'clock': return clock(ts, 5, region, host);
      case 'hb': return heartbeat(ts, host, 'f'.repeat(64), region);
      case 'cert': return cert(ts, ts + day(3), region, host, 'C'.repeat(40));
      case 'unlock': return unlock(ts, 5000, region, host);
      default: return acl(ts, false, region, host);
    }
  })();
  return kind === 'year-0' ? { ...e, ts: `0000${e.ts.slice(4)}` } : e;
}

test('hostile events (future, far past, year 0) never change an honest transition nor its instant', () => {
  let futures = 0;
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), fc.array(hostile, { minLength: 1, maxLength: 6 }), (ops, bad) => {
      const honest = build(ops);
      // each honest record's reference time: the broker appends it at or after the latest event time so far
      let high = -Infinity;
      const refs = honest.map((e) => (high = Math.max(high, Date.parse(e.ts))) + 500);
      const mixed: { e: SignEvent; ref: number; honest: boolean }[] = honest.map((e, i) => ({ e, ref: refs[i]!, honest: true }));
      for (const h of bad) {
        const pos = h.at % (mixed.length + 1);
        const ref = pos > 0 ? mixed[pos - 1]!.ref : T0;
        const region = REG[h.region]!;
        const ts = h.kind === 'future' ? Math.min(ref + h.ahead, Date.UTC(9999, 11, 31, 23, 59, 59, 999)) : h.kind === 'far-past' ? T0 - day(400) : ref;
        mixed.splice(pos, 0, { e: evil(h.kind, h.type, ts, region), ref, honest: false });
      }
      const sink = new MemorySink();
      const engine = createEngine(policy, sink);
      const honestOutcomes: string[] = [];
      for (const m of mixed) {
        if (!validateEvent(m.e).ok) {
          assert.ok(m.e.ts.startsWith('0000'), 'only year-0 events fail the schema');
          continue; // the processor dead-letters it as a schema error; replay reports it
        }
        const o = engine.offer(m.e, m.ref);
        if (m.honest) honestOutcomes.push(o);
        else if (o === 'future') futures++;
      }
      const want = reference(honest, policy);
      assert.deepEqual(honestOutcomes, want.outcomes, 'honest events keep their outcomes');
      const got = sink.transitions
        .map((t) => ({ alert: t.alert, labels: t.labels, state: t.state, at: Date.parse(t.at), value: t.value }))
        .filter((t) => !t.labels.host?.startsWith('evil-') && t.at > T0 - day(300));
      assert.deepEqual(canon(got), canon(want.transitions));
    }),
    { numRuns: Number(process.env.PROPERTY_RUNS ?? 3000) / 3, seed: Number(process.env.PROPERTY_SEED ?? 20261201) },
  );
  assert.ok(futures > 100, `the generator must produce future-stamped events (${futures})`);
});

test('damping (for / keepFiringFor) is exact: engine == brute-force reference with damping applied', () => {
  const F: Record<string, number> = {};
  const K: Record<string, number> = {};
  RULES.forEach((r, i) => {
    F[r.name] = [min(7), min(3), min(30), min(2), 0, min(20), min(5), min(11), min(1), min(4)][i % 10]!;
    K[r.name] = [min(11), min(9), 0, min(4), min(6), min(1), min(15), min(2), min(8), 0][i % 10]!;
  });
  const alerts: Record<string, Record<string, unknown>> = {};
  for (const a of Object.keys(F)) alerts[a] = { ...policyInput.alerts[a], for: F[a], keepFiringFor: K[a] };
  const damped = parsePolicy({ ...policyInput, alerts });
  let n = 0;
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), fc.option(fc.integer({ min: 0, max: day(1) }), { nil: undefined }), (ops, extra) => {
      const events = build(ops);
      const last = events.reduce((m, e) => Math.max(m, Date.parse(e.ts)), T0);
      const until = extra === undefined ? undefined : last + extra;
      const sink = new MemorySink();
      const engine = createEngine(damped, sink);
      for (const e of events) engine.offer(e);
      if (until !== undefined) engine.advanceTo(until);
      const ref = reference(events, policy, until);
      const want = damp(ref.transitions, (a) => F[a] ?? 0, (a) => K[a] ?? 0, ref.clocks, ref.fleetClock);
      const key = (t: { alert: string; labels: Record<string, string>; state: string; at: number }) => `${t.at} ${t.alert} ${JSON.stringify(t.labels, Object.keys(t.labels).sort())} ${t.state}`;
      const got = sink.transitions.map((t) => key({ ...t, at: Date.parse(t.at) })).sort();
      n += got.length;
      assert.deepEqual(got, want.map(key).sort());
    }),
    { numRuns: Number(process.env.PROPERTY_RUNS ?? 3000) / 3, seed: Number(process.env.PROPERTY_SEED ?? 20261202) },
  );
  assert.ok(n > 200, `damped streams produce transitions (${n})`);
});

test('DDSketch p95 is within 1 % of the exact p95 (same rank definition)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 120_000 }), { minLength: 1, maxLength: 2000 }), (xs) => {
      const s = new DDSketch({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY });
      for (const x of xs) s.accept(x);
      const sorted = [...xs].sort((a, b) => a - b);
      for (const q of [0.5, 0.95, 0.99]) {
        const exact = sorted[Math.floor(q * (sorted.length - 1))]!;
        const approx = s.getValueAtQuantile(q);
        assert.ok(Math.abs(approx - exact) <= 0.01 * exact + 1e-9, `q=${q}: sketch ${approx} vs exact ${exact}`);
      }
    }),
    { numRuns: 500, seed: 7 },
  );
});
