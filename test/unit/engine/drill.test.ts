/**
 * Drills (issue 17): three regions rotating at different paces, one host silent, one region timing out — through
 * `replay` (the engine the processor runs), against the brute-force reference of drill-reference.ts. Plus the
 * edges of the definition (docs/engine.md, "Drills"): the deadline instant, late heartbeats of the lookback, stop,
 * an empty cohort; drill pages tagged, `[drill]` in PagerDuty, freezing by policy; cert_revoked outside drills.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { SignEvent } from '../../../schemas/events.js';
import { validateEvent } from '../../../schemas/events.js';
import { defaultPolicy, parsePolicy } from '../../../services/engine/policy.js';
import { createEngine, MemorySink } from '../../../services/engine/engine.js';
import type { DrillRecord } from '../../../services/engine/drill.js';
import type { Transition } from '../../../services/engine/types.js';
import { replay } from '../../../services/replay/replay.js';
import { defaultDrillScenario, drillScenarioLines, REPLACEMENT_SHA1, REVOKED_SHA1 } from '../../../services/simulate/drill-scenario.js';
import { pagerDutyEvent } from '../../../services/alerting/pagerduty-event.js';
import { ReleaseGate } from '../../../services/alerting/release-gate.js';
import { toIso } from '../../../services/engine/time.js';
import { referenceDrills, type RefDrillRecord } from './drill-reference.js';
import { heartbeat, id, revokedUse } from './helpers.js';

const START = Date.parse('2026-11-20T06:00:00.000Z');
const policy = defaultPolicy();
const scenario = defaultDrillScenario(START);
const lines = drillScenarioLines(scenario);
const events = lines.map((l) => {
  const r = validateEvent(JSON.parse(l));
  if (!r.ok) throw new Error(r.reason);
  return r.event;
});

const comparable = (d: DrillRecord): RefDrillRecord => ({
  drillId: d.drillId,
  region: d.region,
  state: d.state,
  at: Date.parse(d.at),
  timeToGreenMs: d.timeToGreenMs,
  pendingHosts: d.pendingHosts,
  lacks: d.lacks,
  hosts: d.hosts,
  ...(d.reason ? { reason: d.reason } : {}),
});

async function run(input: readonly string[], p = policy): Promise<{ drills: DrillRecord[]; transitions: Transition[] }> {
  const drills: DrillRecord[] = [];
  const transitions: Transition[] = [];
  await replay(Readable.from(input.map((l) => `${l}\n`)), { policy: p, now: START + 86_400_000, onDrill: (d) => drills.push(d), onTransition: (t) => transitions.push(t) });
  return { drills, transitions };
}

const out = await run(lines);
const finals = new Map(out.drills.filter((d) => d.state !== 'pending').map((d) => [d.region, d]));

void test('replay: every drill record equals the brute-force reference (three regions, different paces, a silent host, a timeout)', () => {
  const want = referenceDrills(events, policy);
  assert.ok(want.length > 6, `the scenario has progress records (${want.length})`);
  // the engine writes them in event-time order; the reference drill by drill
  const order = (a: RefDrillRecord, b: RefDrillRecord) => a.at - b.at || (a.region < b.region ? -1 : a.region > b.region ? 1 : 0);
  const got = out.drills.map(comparable);
  assert.deepEqual(got, [...got].sort(order), 'in time order');
  assert.deepEqual(got, want.sort(order));
});

void test('replay: exact time-to-green per region; the silent host keeps US pending until it is red at the timeout', () => {
  const want = new Map(referenceDrills(events, policy).filter((d) => d.state !== 'pending').map((d) => [d.region, d]));
  const hk = finals.get('HK')!;
  const jp = finals.get('JP')!;
  const us = finals.get('US')!;
  assert.equal(hk.state, 'green');
  assert.equal(jp.state, 'green');
  assert.equal(hk.timeToGreenMs, want.get('HK')!.timeToGreenMs);
  assert.equal(jp.timeToGreenMs, want.get('JP')!.timeToGreenMs);
  assert.ok(hk.timeToGreenMs! < 45 * 60_000 && hk.timeToGreenMs! >= 10 * 60_000, `HK rotates in 10–40 min (+ one signing call): ${hk.timeToGreenMs}`);
  assert.ok(jp.timeToGreenMs! > hk.timeToGreenMs!, 'JP is slower than HK');
  assert.equal(us.state, 'red');
  assert.equal(us.reason, 'timeout');
  assert.equal(us.at, toIso(Date.parse(us.startedAt) + scenario.timeoutMs));
  assert.deepEqual(us.pendingHosts, ['mini-us-03']);
  assert.deepEqual(us.lacks, { 'mini-us-03': ['scan', 'sign'] });
  assert.equal(us.hosts.length, 4, 'the silent host is in the cohort: it heartbeat in the hour before the start');
  // green is the latest completion of the cohort: the instant of one of the region's events
  for (const g of [hk, jp]) assert.ok(lines.some((l) => l.includes(`"ts":"${g.at}"`) && l.includes(`"region":"${g.region}"`)), `${g.region} green at an event's instant`);
});

void test('drill pages: cert_revoked of the drilled certificate carries the drill id; PagerDuty says [drill]; it does not freeze by default', () => {
  const pages = out.transitions.filter((t) => t.alert === 'cert_revoked' && t.state === 'firing');
  assert.deepEqual([...new Set(pages.map((t) => t.labels.region))].sort(), ['HK', 'JP', 'US']);
  for (const t of pages) assert.equal(t.drillId, scenario.drillId);
  const resolves = out.transitions.filter((t) => t.alert === 'cert_revoked' && t.state === 'resolved');
  assert.ok(resolves.length >= 2 && resolves.every((t) => t.drillId === scenario.drillId), 'the resolve of a drill page keeps the drill id');
  const pd = pagerDutyEvent(pages[0]!, policy);
  assert.match(pd.payload!.summary, /^\[drill\] /);
  assert.equal(pd.payload!.custom_details.drill_id, scenario.drillId);
  const gate = new ReleaseGate(policy);
  for (const t of out.transitions) gate.apply(t);
  const frozenBy = (g: ReleaseGate, r: 'HK' | 'JP' | 'US') => g.state(r).reasons.map((x) => x.alert);
  for (const r of ['HK', 'JP', 'US'] as const) assert.ok(!frozenBy(gate, r).includes('cert_revoked'), `${r}: a drill page does not freeze`);
  const strict = parsePolicy({ drill: { freezes: true } });
  const g2 = new ReleaseGate(strict);
  for (const t of out.transitions.filter((x) => x.alert === 'cert_revoked' && x.state === 'firing')) g2.apply(t);
  assert.ok(frozenBy(g2, 'US').includes('cert_revoked'), 'drill.freezes: true freezes');
});

void test('cert_revoked outside a drill: no drill id, no [drill], it freezes', async () => {
  const noDrill = lines.filter((l) => !l.includes('"type":"drill"'));
  const r = await run(noDrill);
  assert.equal(r.drills.length, 0);
  const pages = r.transitions.filter((t) => t.alert === 'cert_revoked' && t.state === 'firing');
  assert.ok(pages.length >= 3);
  for (const t of pages) assert.equal(t.drillId, undefined);
  assert.doesNotMatch(pagerDutyEvent(pages[0]!, policy).payload!.summary, /\[drill\]/);
  const gate = new ReleaseGate(policy);
  for (const t of pages) gate.apply(t);
  assert.ok(gate.state('US').reasons.some((x) => x.alert === 'cert_revoked'));
});

// ── edges of the definition, on a small hand-made stream ───────────────────────────────────────────────
const S = START;
const drillEv = (t: number, action: 'start' | 'stop', extra: Record<string, unknown> = {}): SignEvent =>
  ({ v: 1, id: id(t), ts: toIso(t), type: 'drill', host: 'ops', region: 'KR', pool: 'signing', agent: 't', action, drillId: '01KDRILL0000000000000000AA', sha1: REVOKED_SHA1, regions: ['KR'], by: 'bob', ...extra });
const sign = (t: number, host: string, identity: string): SignEvent =>
  ({ v: 1, id: id(t), ts: toIso(t), type: 'codesign', host, region: 'KR', pool: 'signing', agent: 't', tool: 'codesign', operation: 'sign', outcome: 'ok', durationMs: 1, exitCode: 0, keychain: '/k', partitionIds: [], identity, invocationId: id(t) });
const clean = (t: number, host: string) => heartbeat(t, host, 'a'.repeat(64), 'KR', undefined, [REPLACEMENT_SHA1]);

function engineRun(evs: SignEvent[], until?: number): DrillRecord[] {
  const sink = new MemorySink();
  const e = createEngine(policy, sink);
  for (const ev of evs) e.offer(ev);
  if (until !== undefined) e.advanceTo(until);
  return sink.drills;
}

void test('edges: evidence at the deadline instant is too late (red at start + timeout); 1 ms before it is green', () => {
  const T = 3_600_000;
  const base = [heartbeat(S - 30 * 60_000, 'kr-1', 'a'.repeat(64), 'KR'), drillEv(S, 'start', { timeoutMs: T }), clean(S + 1000, 'kr-1')];
  const late = engineRun([...base, sign(S + T, 'kr-1', REPLACEMENT_SHA1)]);
  assert.deepEqual(late.map((d) => `${d.state}@${d.at}`), [`pending@${toIso(S)}`, `pending@${toIso(S + 1000)}`, `red@${toIso(S + T)}`]);
  const inTime = engineRun([...base, sign(S + T - 1, 'kr-1', REPLACEMENT_SHA1)]);
  assert.equal(inTime.at(-1)!.state, 'green');
  assert.equal(inTime.at(-1)!.timeToGreenMs, T - 1);
});

void test('edges: the cohort is [start − 1h, start); a heartbeat exactly 1 h before counts, one 1 ms earlier does not; a signing call with the drilled identity does not count', () => {
  const recs = engineRun([heartbeat(S - 3_600_001, 'old', 'a'.repeat(64), 'KR'), heartbeat(S - 3_600_000, 'edge', 'a'.repeat(64), 'KR'), drillEv(S, 'start'), clean(S + 10, 'edge'), sign(S + 20, 'edge', REVOKED_SHA1), sign(S + 30, 'edge', REPLACEMENT_SHA1)]);
  assert.deepEqual(recs[0]!.hosts, ['edge']);
  assert.deepEqual(recs.map((d) => d.state), ['pending', 'pending', 'green']);
  assert.equal(recs.at(-1)!.timeToGreenMs, 30);
});

void test('edges: a late heartbeat of the lookback joins the cohort with the evidence it already sent; stop makes a pending region red; an empty cohort is green at the start', () => {
  const recs = engineRun([heartbeat(S - 60_000, 'a', 'a'.repeat(64), 'KR'), drillEv(S, 'start'), clean(S + 100, 'a'), sign(S + 200, 'b', REPLACEMENT_SHA1), heartbeat(S - 10_000, 'b', 'a'.repeat(64), 'KR'), sign(S + 300, 'a', REPLACEMENT_SHA1)]);
  assert.deepEqual(recs.at(-2)!.lacks, { a: ['sign'], b: ['scan'] }, 'b joined late; its signing call at +200 ms counts');
  assert.deepEqual(recs.at(-1)!.lacks, { b: ['scan'] });
  assert.deepEqual(recs.at(-1)!.hosts, ['a', 'b']);
  const stopped = engineRun([heartbeat(S - 60_000, 'a', 'a'.repeat(64), 'KR'), drillEv(S, 'start'), drillEv(S + 5000, 'stop', { by: 'carol' })]);
  assert.deepEqual(stopped.map((d) => `${d.state}@${d.at}`), [`pending@${toIso(S)}`, `red@${toIso(S + 5000)}`]);
  assert.equal(stopped[1]!.reason, 'stopped');
  assert.equal(stopped[1]!.stoppedBy, 'carol');
  const empty = engineRun([drillEv(S, 'start')]);
  assert.deepEqual(empty.map((d) => `${d.state}:${d.timeToGreenMs}`), ['green:0']);
});

void test('gauges: pending hosts of the latest drill, and its time to green once green', () => {
  const sink = new MemorySink();
  const e = createEngine(policy, sink);
  for (const ev of [heartbeat(S - 60_000, 'a', 'a'.repeat(64), 'KR'), drillEv(S, 'start'), clean(S + 100, 'a')]) e.offer(ev);
  const g = () => e.snapshot().find((s) => s.region === 'KR')!.gauges.filter((x) => x.name.startsWith('signwatch_drill_'));
  assert.deepEqual(g(), [{ name: 'signwatch_drill_pending_hosts', labels: { region: 'KR' }, value: 1 }]);
  e.offer(sign(S + 2500, 'a', REPLACEMENT_SHA1));
  assert.deepEqual(g(), [
    { name: 'signwatch_drill_pending_hosts', labels: { region: 'KR' }, value: 0 },
    { name: 'signwatch_drill_time_to_green_seconds', labels: { region: 'KR' }, value: 2.5 },
  ]);
  // a revoked use outside any drill of KR's certificate is not tagged
  const t: Transition[] = [];
  const e2 = createEngine(policy, { transition: (x) => t.push(x), hourly: () => {} });
  e2.offer(revokedUse(S, REVOKED_SHA1, 'KR', 'a'));
  assert.equal(t[0]?.drillId, undefined);
});
