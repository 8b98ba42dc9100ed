/**
 * Issue 15, problem 3 (parity is blind where the article looks), as named regression tests: parity_drift compares
 * every host with the FLEET's majority (wrapper, keychain path, search list, team IDs, secret version) and with its
 * REGION's for the per-region fields (the App Store Connect account label, notaryProfile).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultPolicy } from '../../../../services/engine/policy.js';
import { createEngine, MemorySink } from '../../../../services/engine/engine.js';
import type { Region, SignEvent } from '../../../../schemas/events.js';
import { T0, min, heartbeat } from '../helpers.js';

const REGIONS: Region[] = ['HK', 'JP', 'KR', 'SG', 'US'];
const W = 'a'.repeat(64);

/** Four hosts per region, all alike, with `change` applied to some. */
function fleet(hostsPerRegion: number, change: (region: Region, i: number) => Partial<Record<'wrapperSha256' | 'secretVersion' | 'notaryProfile', string>> = () => ({})): SignEvent[] {
  const out: SignEvent[] = [];
  REGIONS.forEach((region, r) => {
    for (let i = 1; i <= hostsPerRegion; i++) {
      const hb = heartbeat(T0 + r * 1000 + i, `mini-${region.toLowerCase()}-0${i}`, W, region);
      out.push({ ...hb, secretVersion: 'v7', notaryProfile: `asc-${region.toLowerCase()}`, ...change(region, i) });
    }
  });
  return out;
}

function firing(events: SignEvent[]): string[] {
  const sink = new MemorySink();
  const engine = createEngine(defaultPolicy(), sink);
  for (const e of events) engine.offer(e);
  engine.advanceTo(T0 + min(10));
  const open = new Map<string, string>();
  for (const t of sink.transitions.filter((x) => x.alert === 'parity_drift')) {
    if (t.state === 'firing') open.set(t.dedupKey, `${t.labels.region}/${t.labels.host} ${t.value} ${Object.keys(t.details?.facts ?? {}).join(',')}`);
    else open.delete(t.dedupKey);
  }
  return [...open.values()].sort();
}

void test('parity: a host that differs only in secretVersion fires', () => {
  assert.deepEqual(firing(fleet(4, (r, i) => (r === 'KR' && i === 3 ? { secretVersion: 'v6' } : {}))), ['KR/mini-kr-03 1 secretVersion']);
});

void test('parity: every JP host differing from all other regions fires (parity is fleet-wide, not per region)', () => {
  const got = firing(fleet(4, (r) => (r === 'JP' ? { wrapperSha256: 'b'.repeat(64) } : {})));
  assert.deepEqual(got, ['JP/mini-jp-01 1 wrapperSha256', 'JP/mini-jp-02 1 wrapperSha256', 'JP/mini-jp-03 1 wrapperSha256', 'JP/mini-jp-04 1 wrapperSha256']);
});

void test('parity: a 2-host region that disagrees is compared with the fleet: the odd host fires', () => {
  const got = firing(fleet(2, (r, i) => (r === 'SG' && i === 2 ? { wrapperSha256: 'c'.repeat(64) } : {})));
  assert.deepEqual(got, ['SG/mini-sg-02 1 wrapperSha256']);
});

void test('parity: one App Store Connect label per region; regions may differ, a region split evenly drifts as a whole', () => {
  assert.deepEqual(firing(fleet(4)), [], 'every region has its own label: no drift');
  const got = firing(fleet(2, (r, i) => (r === 'US' && i === 2 ? { notaryProfile: 'asc-other' } : {})));
  assert.deepEqual(got, ['US/mini-us-01 1 notaryProfile', 'US/mini-us-02 1 notaryProfile']);
});

void test('parity: the drift resolves when the host comes back in line', () => {
  const events = fleet(4, (r, i) => (r === 'HK' && i === 1 ? { secretVersion: 'v6' } : {}));
  const fixed = { ...(events[0] as Extract<SignEvent, { type: 'heartbeat' }>), id: '01KB00000000000000000FIXED', ts: new Date(T0 + min(5)).toISOString(), secretVersion: 'v7' };
  const sink = new MemorySink();
  const engine = createEngine(defaultPolicy(), sink);
  for (const e of [...events, fixed]) engine.offer(e);
  const p = sink.transitions.filter((t) => t.alert === 'parity_drift');
  assert.deepEqual(p.map((t) => [t.labels.host, t.state, t.at]), [
    // from the third heartbeat on the fleet has a strict majority (v7) to differ from
    ['mini-hk-01', 'firing', new Date(T0 + 3).toISOString()],
    ['mini-hk-01', 'resolved', new Date(T0 + min(5)).toISOString()],
  ]);
});
