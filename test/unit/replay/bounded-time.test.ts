/**
 * Regression tests of issue 14 ("No single event can blind a region"): the reviewer's scenarios through `replay`.
 * One hostile HK event used to move the HK clock: at year 9999 it expired everything after it and the page was
 * lost; one hour ahead it made 1 064 events late and hid the page; after the page it resolved it early (and so
 * unfroze HK releases). Now every event has a reference time (the record time of an export, else the wall clock)
 * and one stamped beyond it + maxFutureSkew is a future_timestamp: counted, reported, blamed on its host's clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { defaultPolicy } from '../../../services/engine/policy.js';
import { replay, type ReplaySummary } from '../../../services/replay/replay.js';
import { demoIncidents, simulate } from '../../../services/simulate/simulate.js';
import { ReleaseGate } from '../../../services/alerting/release-gate.js';
import type { Transition } from '../../../services/engine/types.js';
import { clock, kcFail } from '../engine/helpers.js';

const START = Date.parse('2026-11-20T00:00:00.000Z');
const policy = defaultPolicy();
const lines = [...simulate({ seed: 14, start: START, events: 12_000, ratePerSecond: 2, incidents: demoIncidents(START) })];
const tsOf = (line: string) => Date.parse((JSON.parse(line) as { ts: string }).ts);
/** A topic export (kcat -C -J) whose broker appended each honest event 40 ms after its time. */
const exported = (ls: readonly string[]) => ls.map((l) => JSON.stringify({ topic: 'events.v1', partition: 0, ts: tsOf(l) + 40, payload: l }));

async function run(input: readonly string[]): Promise<{ summary: ReplaySummary; transitions: Transition[]; future: string[] }> {
  const transitions: Transition[] = [];
  const future: string[] = [];
  // --until after the stream so the HK page resolves (its last failure + 1 h is after the last event)
  const summary = await replay(Readable.from(input.map((l) => `${l}\n`)), { policy, until: START + 4 * 3_600_000, onTransition: (t) => transitions.push(t), onFuture: (_n, r) => future.push(r) });
  return { summary, transitions, future };
}

const HK_PAGE = 'signwatch/codesign_keychain_failures/region=HK';
const hkPage = (ts: Transition[]) => ts.filter((t) => t.dedupKey === HK_PAGE).map((t) => `${t.state}@${t.at}`);

/** The stream without any hostile event: the page fires and resolves at these instants. */
const baseline = await run(lines);
const [fired, resolved] = hkPage(baseline.transitions);

void test('baseline: the simulated stream pages HK (keychain lock at +1h) and resolves it', () => {
  assert.match(fired ?? '', /^firing@2026-11-20T01:/);
  assert.match(resolved ?? '', /^resolved@2026-11-20T02:/);
  assert.equal(baseline.summary.future, 0);
});

void test('one HK event at 9999-12-31T23:59:59.999Z: the HK page still fires and resolves at the same instants, nothing expires', async () => {
  const poison = JSON.stringify({ ...kcFail(START, 'HK', 'mini-hk-03'), ts: '9999-12-31T23:59:59.999Z' });
  const mixed = [...lines.slice(0, 1000), poison, ...lines.slice(1000)];
  const r = await run(mixed);
  assert.deepEqual(hkPage(r.transitions), [fired, resolved]);
  assert.equal(r.summary.expired, baseline.summary.expired, 'no event expired because of it');
  assert.equal(r.summary.late, baseline.summary.late, 'no event late because of it');
  assert.equal(r.summary.future, 1);
  assert.match(r.future[0]!, /^future_timestamp: ts 9999-12-31T23:59:59\.999Z is \d+ s ahead of the record time .* \(max 300 s\)$/);
});

void test('one HK clock event only 1 h ahead of its record time: no late flood, the HK page fires; the host gets clock_skew', async () => {
  const at = 1000;
  const honest = exported(lines);
  const rec = JSON.parse(honest[at]!) as { ts: number };
  const poison = clock(rec.ts + 3_600_000, 3, 'HK', 'mini-hk-02');
  const mixed = [...honest.slice(0, at), JSON.stringify({ ts: rec.ts, payload: JSON.stringify(poison) }), ...honest.slice(at)];
  const r = await run(mixed);
  assert.deepEqual(hkPage(r.transitions), [fired, resolved]);
  assert.equal(r.summary.late, baseline.summary.late);
  assert.equal(r.summary.future, 1);
  const skew = r.transitions.filter((t) => t.alert === 'clock_skew' && t.labels.host === 'mini-hk-02');
  assert.equal(skew[0]?.state, 'firing', 'its host is evidently wrong: clock_skew fires');
  assert.ok(skew[0].value >= 3_600_000 - 1000, `value is the skew (${skew[0].value} ms)`);
  assert.deepEqual(skew[0].details?.errorCodes, ['future_timestamp']);
  assert.equal(skew[1]?.state, 'resolved', 'and clears futureHold (1 h) of region time later');
  assert.equal(Date.parse(skew[1].at) - Date.parse(skew[0].at), policy.alerts.clock_skew.futureHold);
});

void test('the same event after the page fired resolves nothing early: HK stays frozen until the exact instant', async () => {
  const honest = exported(lines);
  const firedAt = Date.parse(fired!.slice('firing@'.length));
  const after = honest.findIndex((l) => (JSON.parse(l) as { ts: number }).ts > firedAt + 60_000);
  const rec = JSON.parse(honest[after]!) as { ts: number };
  const poison = JSON.stringify({ ts: rec.ts, payload: JSON.stringify(clock(rec.ts + 3_600_000, 3, 'HK', 'mini-hk-02')) });
  const r = await run([...honest.slice(0, after), poison, ...honest.slice(after)]);
  assert.deepEqual(hkPage(r.transitions), [fired, resolved], 'resolved at the same instant, not 10 minutes early');
  // the release gate, fed the same transitions, stays frozen from the page to the exact resolve instant
  const gate = new ReleaseGate(policy);
  const frozenAt: string[] = [];
  for (const t of r.transitions) {
    gate.apply(t);
    // the page's own hold on the gate (past the end of the stream the silent region freezes HK too, rightly)
    if (t.dedupKey === HK_PAGE) frozenAt.push(`${t.state}:${gate.state('HK').frozen && gate.state('HK').reasons.some((x) => x.dedupKey === HK_PAGE)}`);
  }
  assert.deepEqual(frozenAt, ['firing:true', 'resolved:false']);
});

void test('a plain NDJSON line without record time is referred to the wall clock (or --now)', async () => {
  const t0 = Date.parse('2026-11-20T00:00:00.000Z');
  const line = JSON.stringify(kcFail(t0, 'KR'));
  const summaries = await Promise.all(
    [t0 - 301_000, t0 - 299_000].map(async (now) => {
      const s = await replay(Readable.from([`${line}\n`]), { policy, now });
      return s.future;
    }),
  );
  assert.deepEqual(summaries, [1, 0], 'more than maxFutureSkew (5 min) ahead of --now is future, within it is not');
});
