/** The exact alert semantics of the design contract (kept outside this repository), at the window edges. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { T0, min, day, kcFail, csOk, unlock, cert, clock, heartbeat, acl, run } from './helpers.js';
import { toIso } from '../../../services/engine/time.js';

test('two keychain failures exactly 60 min apart never count together (half-open window)', () => {
  const { transitions } = run([kcFail(T0), kcFail(T0 + min(30)), kcFail(T0 + min(60))]);
  assert.deepEqual(transitions, [], 'T0 leaves the window at T0+60m exactly, so only two are ever counted');
});

test('the third failure inside the hour fires at its own time; resolves at oldest + 60 min', () => {
  const { transitions, sink } = run([kcFail(T0), kcFail(T0 + min(10)), kcFail(T0 + min(20)), csOk(T0 + min(90))]);
  assert.deepEqual(
    transitions.map((t) => [t.state, t.at, t.value]),
    [
      ['firing', toIso(T0 + min(20)), 3],
      ['resolved', toIso(T0 + min(60)), 2],
    ],
  );
  const page = sink.transitions[0]!;
  assert.equal(page.dedupKey, 'signwatch/codesign_keychain_failures/region=HK');
  assert.equal(page.severity, 'critical');
  assert.deepEqual(page.details?.errorCodes, ['errSecInternalComponent']);
  assert.deepEqual(page.details?.hosts, ['mini-hk-01']);
  assert.deepEqual(page.details?.partitionIds, ['apple-tool:', 'apple:']);
  assert.equal(page.threshold, 2);
});

test('a fourth failure while firing does not fire again; resolution waits for the count to drop to 2', () => {
  const { transitions } = run([kcFail(T0), kcFail(T0 + min(10)), kcFail(T0 + min(20)), kcFail(T0 + min(30))], { until: T0 + min(200) });
  assert.deepEqual(
    transitions.map((t) => [t.state, t.at, t.value]),
    [
      ['firing', toIso(T0 + min(20)), 3],
      ['resolved', toIso(T0 + min(70)), 2],
    ],
  );
});

test('duplicates count once, however often they arrive', () => {
  const a = kcFail(T0);
  const b = kcFail(T0 + min(1));
  const { transitions, outcomes } = run([a, b, a, b, a, b]);
  assert.deepEqual(transitions, []);
  assert.deepEqual(outcomes, ['accepted', 'accepted', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
});

test('out-of-order events within the allowed lateness count (fire at the clock)', () => {
  const { transitions, outcomes } = run([kcFail(T0), kcFail(T0 + min(10)), csOk(T0 + min(14)), kcFail(T0 + min(10) + 1)]);
  assert.deepEqual(outcomes, ['accepted', 'accepted', 'accepted', 'accepted']);
  assert.deepEqual(transitions.map((t) => [t.state, t.at]), [['firing', toIso(T0 + min(14))]]);
});

test('events later than the allowed lateness are counted as late, aggregated, and fire nothing', () => {
  const { transitions, outcomes, engine, sink } = run([kcFail(T0), kcFail(T0 + min(1)), csOk(T0 + min(20)), kcFail(T0 + min(2))]);
  assert.deepEqual(outcomes, ['accepted', 'accepted', 'accepted', 'late']);
  assert.deepEqual(transitions, []);
  assert.equal(engine.stats.late, 1);
  const hk = sink.hourlies.find((h) => h.region === 'HK' && h.host === null)!;
  assert.equal(hk.codesign.keychainFailed, 3, 'the late failure still counts in the hourly aggregate');
  assert.equal(hk.late, 1);
});

test('exactly at the lateness edge is on time; one ms beyond is late', () => {
  const r1 = run([csOk(T0 + min(5)), kcFail(T0)]);
  assert.deepEqual(r1.outcomes, ['accepted', 'accepted']);
  const r2 = run([csOk(T0 + min(5) + 1), kcFail(T0)]);
  assert.deepEqual(r2.outcomes, ['accepted', 'late']);
});

test('a quiet region resolves when --until moves the clock', () => {
  const events = [kcFail(T0), kcFail(T0 + min(1)), kcFail(T0 + min(2))];
  assert.deepEqual(run(events).transitions.map((t) => t.state), ['firing']);
  const { transitions } = run(events, { until: T0 + min(120) });
  assert.deepEqual(transitions.map((t) => [t.state, t.at]), [
    ['firing', toIso(T0 + min(2))],
    ['resolved', toIso(T0 + min(60))],
  ]);
});

test('regions are independent: failures in two regions do not add up', () => {
  const { transitions } = run([kcFail(T0, 'HK'), kcFail(T0 + 1, 'JP', 'mini-jp-01'), kcFail(T0 + 2, 'HK'), kcFail(T0 + 3, 'JP', 'mini-jp-01')]);
  assert.deepEqual(transitions, []);
});

test('the 21-day certificate boundary: exactly 21 days does not fire, 1 ms less does', () => {
  const notAfter = T0 + day(30);
  const edge = notAfter - day(21);
  const r = run([cert(T0, notAfter), cert(edge, notAfter)]);
  assert.deepEqual(r.transitions, [], 'notAfter − t = 21 days exactly is not < 21 days');
  const r2 = run([cert(T0, notAfter), cert(edge + 1, notAfter)]);
  assert.deepEqual(r2.transitions.map((t) => [t.alert, t.state, t.at, t.labels.sha1]), [['cert_expiry', 'firing', toIso(edge + 1), 'A'.repeat(40)]]);
  assert.equal(r2.sink.transitions[0]!.severity, 'ticket');
  // the clock crossing the edge (no report at that instant) fires exactly at the edge + 1 ms
  const r3 = run([cert(T0 + day(8) + min(600), notAfter)], { until: T0 + day(9) + 5 });
  assert.deepEqual(r3.transitions.map((t) => [t.state, t.at]), [['firing', toIso(edge + 1)]]);
});

// regressions (issue 15, 6): a host that stopped reporting resolved the ticket while the certificate was still under
// 21 days; after a real rotation it resolved only 24 h later
test('certificate tickets never resolve on silence alone; a replacement or a removal resolves them at once', () => {
  const notAfter = T0 + day(10);
  const old = 'A'.repeat(40);
  const fresh = 'B'.repeat(40);
  const cert_ = (t: number, sha1: string, na: number, host = 'mini-us-01') => cert(t, na, 'US', host, sha1);
  const states = (ts: { state: string; at: string; labels: Record<string, string> }[]) => ts.filter((t) => t.labels.sha1 === old).map((t) => `${t.state}@${(Date.parse(t.at) - T0) / 3_600_000}h`);
  // the host goes silent: the ticket stays open (for a week, and until forgotten after 30 days without any evidence)
  assert.deepEqual(states(run([cert_(T0, old, notAfter)], { until: T0 + day(7) }).transitions), ['firing@0h']);
  // a replacement of the same kind and team, reported while the old one is still reported: open until the old one
  // stops being reported (staleAfter), then resolved by the replacement
  const replaced = run([cert_(T0, old, notAfter), cert_(T0 + min(30), fresh, T0 + day(365))], { until: T0 + day(3) });
  assert.deepEqual(states(replaced.transitions), ['firing@0h', 'resolved@24h']);
  assert.equal(replaced.transitions.filter((t) => t.labels.sha1 === fresh).length, 0, 'the replacement itself is a year from expiry');
  // the host's inventory (heartbeat certSha1s) no longer lists it: resolved at that heartbeat, not 24 h later
  const removed = run([cert_(T0, old, notAfter), cert_(T0 + min(30), fresh, T0 + day(365)), heartbeat(T0 + min(31), 'mini-us-01', 'a'.repeat(64), 'US', 0, [fresh])], { until: T0 + day(3) });
  assert.deepEqual(states(removed.transitions), ['firing@0h', `resolved@${31 / 60}h`]);
  // removal without a replacement: the hosts keep reporting, it left every keychain: resolved
  const gone = run([cert_(T0, old, notAfter, 'mini-us-01'), cert_(T0, old, notAfter, 'mini-us-02'), heartbeat(T0 + min(10), 'mini-us-01', 'a'.repeat(64), 'US', 0, []), heartbeat(T0 + min(20), 'mini-us-02', 'a'.repeat(64), 'US', 0, [])], { until: T0 + day(1) });
  assert.deepEqual(states(gone.transitions), ['firing@0h', `resolved@${20 / 60}h`], 'only when the last host that had it no longer lists it');
  // the value is the one day count (whole days left): 10 days at T0, in the summary too
  const first = gone.transitions[0]!;
  assert.equal(first.value, 10);
});

/** The p95 warning's raw condition, without its default damping (tested on its own below). */
const UNDAMPED = { alerts: { unlock_latency_p95: { for: 0, keepFiringFor: 0 } } };

test('unlock p95 with fewer than minSamples does not fire; the 5th slow unlock does', () => {
  const slow = [0, 1, 2, 3].map((i) => unlock(T0 + min(i), 2000));
  assert.deepEqual(run(slow, { policy: UNDAMPED }).transitions, []);
  const { transitions } = run([...slow, unlock(T0 + min(4), 2000)], { until: T0 + min(200), policy: UNDAMPED });
  assert.deepEqual(transitions.map((t) => [t.alert, t.state, t.at, t.value]), [
    ['unlock_latency_p95', 'firing', toIso(T0 + min(4)), 2000],
    ['unlock_latency_p95', 'resolved', toIso(T0 + min(60)), 2000],
  ]);
});

test('unlock p95 is > 800, not ≥ 800; nearest-rank p95 of 20 samples is the 19th', () => {
  const at800 = Array.from({ length: 10 }, (_, i) => unlock(T0 + i, 800));
  assert.deepEqual(run(at800, { policy: UNDAMPED }).transitions, []);
  // 18 fast + 2 slow: p95 = 19th smallest = slow → fires; 19 fast + 1 slow: p95 = 19th = fast → no
  const twoSlow = [...Array.from({ length: 18 }, (_, i) => unlock(T0 + i, 100)), unlock(T0 + 18, 900), unlock(T0 + 19, 900)];
  assert.equal(run(twoSlow, { policy: UNDAMPED }).transitions.length, 1);
  const oneSlow = [...Array.from({ length: 19 }, (_, i) => unlock(T0 + i, 100)), unlock(T0 + 19, 900)];
  assert.equal(run(oneSlow, { policy: UNDAMPED }).transitions.length, 0);
});

// regression (issue 15, 7): the p95 warning used to fire, resolve and fire again within 3 minutes
test('the unlock p95 warning is damped by default (for 2m, keepFiringFor 10m): a flapping p95 fires once, at the exact instant', () => {
  // 5 slow unlocks (fires raw at T0+4m), then fast ones that pull the p95 under 800 (raw resolve), then slow again
  const events = [
    ...[0, 1, 2, 3, 4].map((i) => unlock(T0 + min(i), 2000)),
    ...Array.from({ length: 100 }, (_, i) => unlock(T0 + min(5) + i * 1000, 100)), // raw: resolves at T0+6m35s
    ...[0, 1, 2, 3, 4].map((i) => unlock(T0 + min(7) + i * 1000, 3000)),
  ];
  const raw = run(events, { policy: UNDAMPED, until: T0 + min(120) }).transitions.map((t) => `${t.state}@${t.at}`);
  assert.ok(raw.length >= 3, `raw condition flaps (${raw.join(' ')})`);
  const damped = run(events, { until: T0 + min(120) }).transitions.map((t) => `${t.state}@${t.at}`);
  // fires 2 min after the raw condition became true (held through), resolves 10 min after it last became false
  const rawFire = Date.parse(raw[0]!.split('@')[1]!);
  const rawLastResolve = Date.parse(raw[raw.length - 1]!.split('@')[1]!);
  assert.deepEqual(damped, [`firing@${toIso(rawFire + min(2))}`, `resolved@${toIso(rawLastResolve + min(10))}`]);
});

test('damping is exact: a condition that breaks before `for` never fires; one that returns within `keepFiringFor` never resolves', () => {
  const p = { alerts: { codesign_keychain_failures: { for: '10m', keepFiringFor: '5m', window: '1h' } } };
  const three = [kcFail(T0), kcFail(T0 + 1000), kcFail(T0 + 2000)]; // raw: fires at T0+2s, resolves at T0+1h
  // held through T0+2s+10m: fires exactly then; resolves 5 min after the raw resolve
  assert.deepEqual(run(three, { policy: p, until: T0 + min(200) }).transitions.map((t) => `${t.state}@${t.at}`), [`firing@${toIso(T0 + 2000 + min(10))}`, `resolved@${toIso(T0 + min(60) + min(5))}`]);
  // a window of 8 min: raw resolves at T0+8m, before the 10 min `for` is served → never fires
  const short = { alerts: { codesign_keychain_failures: { for: '10m', window: '8m' } } };
  assert.deepEqual(run(three, { policy: short, until: T0 + min(200) }).transitions, []);
  // raw resolve at T0+1h, a new failure burst 2 min later re-fires the raw condition: the alert keeps firing
  const again = [...three, kcFail(T0 + min(62)), kcFail(T0 + min(62) + 1), kcFail(T0 + min(62) + 2)];
  assert.deepEqual(run(again, { policy: p, until: T0 + min(300) }).transitions.map((t) => `${t.state}@${t.at}`), [`firing@${toIso(T0 + 2000 + min(10))}`, `resolved@${toIso(T0 + min(62) + min(60) + min(5))}`]);
});

test('clock skew, undeclared ACL change, parity drift and a distribution key on a compile host', () => {
  const r = run(
    [
      clock(T0, 50),
      clock(T0 + 1000, 4000),
      clock(T0 + 2000, -20),
      acl(T0 + 3000, true),
      acl(T0 + 4000, false),
      heartbeat(T0, 'mini-kr-01'),
      heartbeat(T0 + 1, 'mini-kr-02'),
      heartbeat(T0 + 2, 'mini-kr-03', 'b'.repeat(64)),
      cert(T0 + 5000, T0 + day(300), 'US', 'build-us-01', 'B'.repeat(40), 'compile'),
    ],
    { until: T0 + min(61) + 5000 },
  );
  const got = r.transitions.map((t) => `${t.alert}/${t.labels.host ?? ''}/${t.state}@${(Date.parse(t.at) - T0) / 1000}`);
  assert.deepEqual(got.sort(), [
    'acl_outside_window/mini-hk-01/firing@4',
    'acl_outside_window/mini-hk-01/resolved@3604',
    'clock_skew/mini-jp-01/firing@1',
    'clock_skew/mini-jp-01/resolved@2',
    'distribution_key_on_compile_host/build-us-01/firing@5',
    // three KR hosts sent one heartbeat each: silent from 15 min after it on
    'host_silent/mini-kr-01/firing@900',
    'host_silent/mini-kr-02/firing@900.001',
    'host_silent/mini-kr-03/firing@900.002',
    'parity_drift/mini-kr-03/firing@0.002',
    // and so is the region as a whole, from 15 min after its latest heartbeat
    'region_silent//firing@900.002',
  ]);
});

test('policy thresholds are read from the policy, not hard-coded', () => {
  const events = [kcFail(T0), kcFail(T0 + 1), kcFail(T0 + 2)];
  assert.equal(run(events, { policy: { alerts: { codesign_keychain_failures: { threshold: 3 } } } }).transitions.length, 0);
  assert.equal(run(events, { policy: { alerts: { codesign_keychain_failures: { threshold: 1 } } } }).transitions[0]!.at, toIso(T0 + 1));
});
