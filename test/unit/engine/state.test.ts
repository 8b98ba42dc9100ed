/**
 * Saved engine state (the processor's checkpoints): on random streams, an engine saved at random points (through
 * JSON, as the processor writes it) and restored into a new engine gives exactly the output of one engine that ran
 * the whole stream: transitions (with summaries and details), hourly aggregates, outcomes, stats, snapshots.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePolicy } from '../../../services/engine/policy.js';
import { createEngine, MemorySink } from '../../../services/engine/engine.js';
import type { AlertEngine, EngineState } from '../../../services/engine/types.js';
import { CodedError } from '../../../services/platform/errors.js';
import { build, op, policyInput } from './streams.js';
import { T0, kcFail, min } from './helpers.js';

const policy = parsePolicy(policyInput);
// damping: a pending deadline holds closures, so saveState() says null then; exact whenever it does save
const damped = parsePolicy({
  ...policyInput,
  alerts: { ...policyInput.alerts, codesign_keychain_failures: { for: '10m', keepFiringFor: '5m' }, unlock_latency_p95: { minSamples: 3, for: '7m', keepFiringFor: 0 } },
});

const roundTrip = (s: EngineState): EngineState => JSON.parse(JSON.stringify(s)) as EngineState;

function check(p: typeof policy, ops: Parameters<typeof build>[0], cutsAt: number[] | 'every', ticks: number[]): { saved: number; refused: number } {
  const events = build(ops);
  // the same inputs for both: events, with a clock tick after some of them (the live processor's wall clock)
  const steps: ({ e: (typeof events)[number] } | { tick: number })[] = [];
  let high = T0;
  events.forEach((e, i) => {
    steps.push({ e });
    high = Math.max(high, Date.parse(e.ts));
    if (ticks.includes(i)) steps.push({ tick: high + min(ticks.indexOf(i) * 7) });
  });
  const cuts = cutsAt === 'every' ? steps.map((_, i) => i) : cutsAt.map((c) => c % steps.length);
  const apply = (eng: AlertEngine, s: (typeof steps)[number], out: string[]) => {
    if ('e' in s) out.push(eng.offer(s.e));
    else eng.advanceTo(s.tick);
  };
  const whole = new MemorySink();
  const one = createEngine(p, whole);
  const outcomesA: string[] = [];
  for (const s of steps) apply(one, s, outcomesA);

  const pieces = new MemorySink();
  let cur = createEngine(p, pieces);
  const outcomesB: string[] = [];
  let saved = 0;
  let refused = 0;
  steps.forEach((s, i) => {
    apply(cur, s, outcomesB);
    if (cuts.includes(i)) {
      const st = cur.saveState();
      if (st === null) {
        refused++;
        return;
      }
      saved++;
      const next = createEngine(p, pieces);
      next.loadState(roundTrip(st));
      assert.deepEqual(next.stats, cur.stats);
      assert.deepEqual(next.snapshot(), cur.snapshot());
      cur = next;
    }
  });
  assert.deepEqual(outcomesB, outcomesA);
  assert.deepEqual(pieces.transitions, whole.transitions);
  assert.deepEqual(pieces.hourlies, whole.hourlies);
  one.flush();
  cur.flush();
  assert.deepEqual(pieces.hourlies, whole.hourlies, 'open buckets flushed alike');
  assert.deepEqual(cur.stats, one.stats);
  return { saved, refused };
}

const cutsArb = fc.array(fc.nat({ max: 80 }), { maxLength: 4 });

test('restored engine state == the engine that ran the whole stream (random streams, random save points)', () => {
  const runs = Number(process.env.PROPERTY_RUNS ?? 3000) / 10;
  let saved = 0;
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), cutsArb, fc.array(fc.nat({ max: 60 }), { maxLength: 3 }), (ops, cuts, ticks) => {
      saved += check(policy, ops, cuts, ticks).saved;
    }),
    { numRuns: runs, seed: Number(process.env.PROPERTY_SEED ?? 20261201) },
  );
  assert.ok(saved >= runs, `states saved and restored: ${saved}`);
});

test('saved and restored after every single step: still the same output', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), fc.array(fc.nat({ max: 60 }), { maxLength: 3 }), (ops, ticks) => {
      check(policy, ops, 'every', ticks);
    }),
    { numRuns: Number(process.env.PROPERTY_RUNS ?? 3000) / 40, seed: Number(process.env.PROPERTY_SEED ?? 20261203) },
  );
});

test('with damping: no state is saved while a deadline is pending, and a saved one restores exactly', () => {
  let saved = 0;
  let refused = 0;
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), fc.array(fc.nat({ max: 60 }), { maxLength: 3 }), (ops, ticks) => {
      const r = check(damped, ops, 'every', ticks);
      saved += r.saved;
      refused += r.refused;
    }),
    { numRuns: Number(process.env.PROPERTY_RUNS ?? 3000) / 40, seed: Number(process.env.PROPERTY_SEED ?? 20261202) },
  );
  assert.ok(saved > 300 && refused > 0, `saved ${saved}, refused ${refused}`);
});

test('a state of another policy, or a damaged one, is refused with SW_ENGINE_STATE', () => {
  const a = createEngine(policy, new MemorySink());
  a.offer(kcFail(T0));
  const st = a.saveState()!;
  const other = createEngine(parsePolicy({ ...policyInput, allowedLateness: '6m' }), new MemorySink());
  assert.throws(() => other.loadState(st), (e: unknown) => e instanceof CodedError && e.code === 'SW_ENGINE_STATE' && /another shape, policy or version/.test(e.message));
  const broken = roundTrip(st);
  broken.graph.nodes.length = 3;
  assert.throws(() => createEngine(policy, new MemorySink()).loadState(broken), (e: unknown) => e instanceof CodedError && e.code === 'SW_ENGINE_STATE');
});
