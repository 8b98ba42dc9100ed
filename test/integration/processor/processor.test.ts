/**
 * `signwatch processor` against the real Kafka broker (scripts/kafka.sh start; SIGNWATCH_INTEGRATION=1).
 * Reference output: the engine `signwatch replay` runs, over the same lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulate, demoIncidents } from '../../../services/simulate/simulate.js';
import { DLQ_HEADERS } from '../../../services/processor/topology.js';
import { INTEGRATION, World, byKey, hourlyKeyOf, reference, sleep, sorted, transitionKey, until } from './harness.js';
import type { HourlyAggregate, Transition } from '../../../services/engine/types.js';

const skip = INTEGRATION ? false : 'needs the real broker: SIGNWATCH_INTEGRATION=1 after `npm run kafka:start`';
const START = Date.parse('2026-11-20T00:00:00.000Z');

/** A stream with every incident of the demo plus duplicates, late deliveries and malformed lines. */
function stream(events: number, seed = 7): string[] {
  return [...simulate({ seed, start: START, events, ratePerSecond: 2, incidents: demoIncidents(START), duplicateRate: 0.01, lateRate: 0.01, malformedRate: 0.005 })];
}

function assertNoDuplicates(ts: Transition[]): void {
  const dups = [...byKey(ts, transitionKey)].filter(([, v]) => v.length > 1).map(([k]) => k);
  assert.deepEqual(dups, [], 'no transition is written twice');
}

/** Same multiset of transitions, and per dedup key the same sequence (firing, resolved, …). */
function assertSameTransitions(got: Transition[], want: Transition[]): void {
  assertNoDuplicates(got);
  assert.ok(want.length >= 3, `the reference has transitions (${want.length})`);
  assert.deepEqual(sorted(got, transitionKey), sorted(want, transitionKey));
  const seq = (ts: Transition[]) => [...byKey(ts, (t) => t.dedupKey)].map(([k, v]) => `${k}: ${v.map((t) => `${t.state}@${t.at}`).join(' ')}`).sort();
  assert.deepEqual(seq(got), seq(want));
}

function assertSameHourly(got: HourlyAggregate[], want: HourlyAggregate[]): void {
  const dups = [...byKey(got, hourlyKeyOf)].filter(([, v]) => v.length > 1).map(([k]) => k);
  assert.deepEqual(dups, [], 'no hourly aggregate is written twice');
  assert.ok(want.length > 0);
  assert.deepEqual(sorted(got, hourlyKeyOf), sorted(want, hourlyKeyOf));
}

void test('alert topic == replay; hourly topic == replay; bad lines dead-lettered with reason and source', { skip, timeout: 120_000 }, async () => {
  const w = new World({ partitions: 3, clock: 'event' });
  try {
    const lines = stream(30_000);
    const ref = await reference(lines);
    await w.createEventsTopic();
    await w.produceLines(lines);
    const poison = [
      { key: 'HK', value: '{"v":1,"truncated' },
      { key: 'HK', value: JSON.stringify({ v: 1, id: 'nope', type: 'codesign' }) },
      { key: 'JP', value: 'x'.repeat(70 * 1024) },
      { key: 'SG', value: null },
    ];
    await w.produceRaw(poison);
    await w.startProcessor('p0');
    await w.waitCaughtUp();
    assertSameTransitions(await w.transitions(), ref.transitions);
    assertSameHourly(await w.hourlies(), ref.hourly);

    const dlq = await w.drain(w.topics.dlq);
    const malformed = ref.invalid;
    assert.ok(malformed > 0, 'the stream has malformed lines');
    const reasons = dlq.map((d) => d.headers[DLQ_HEADERS.reason] ?? '');
    assert.equal(dlq.length, malformed + poison.length, 'every bad record is dead-lettered once');
    assert.ok(reasons.every((r) => /^(oversized|not JSON|schema|empty)/.test(r)), `reasons: ${[...new Set(reasons.map((r) => r.split(':')[0]))].join(', ')}`);
    for (const d of dlq) {
      assert.equal(d.headers[DLQ_HEADERS.topic], w.topics.events);
      assert.match(d.headers[DLQ_HEADERS.partition] ?? '', /^\d+$/);
      assert.match(d.headers[DLQ_HEADERS.offset] ?? '', /^\d+$/);
    }
    assert.ok(reasons.some((r) => r.startsWith('oversized')));
    assert.ok(reasons.some((r) => r.startsWith('empty')));
    const big = dlq.find((d) => d.headers[DLQ_HEADERS.reason]?.startsWith('oversized'));
    assert.equal(big?.value.length, 70 * 1024, 'the original bytes are kept');

    // /metrics: counters and exact per-region gauges
    const proc = await w.startProcessor('p1'); // a second member: joins, gets some partitions, rebuilds them
    const text = await until('metrics', async () => {
      const r = await fetch(`http://127.0.0.1:${proc.metricsPort}/metrics`);
      const t = await r.text();
      return t.includes('signwatch_keychain_failures_trailing_hour') ? t : undefined;
    }, 20_000);
    assert.match(text, /signwatch_keychain_failures_trailing_hour\{region="[A-Z]{2}"\} \d+/);
    const ready = await until('readyz', async () => ((await fetch(`http://127.0.0.1:${proc.metricsPort}/readyz`)).ok ? true : undefined), 20_000);
    assert.equal(ready, true);
    await sleep(500);
    // the second member re-read its partitions: still no duplicates on the alert topic
    await w.waitCaughtUp();
    assertSameTransitions(await w.transitions(), ref.transitions);
  } catch (e) {
    process.stderr.write(w.logs().slice(-5000));
    throw e;
  } finally {
    await w.cleanup();
  }
});
