// The Fleet tiles' figures (services/console/figures.ts) from a real engine: read in-process from its snapshots and
// from the processor's /metrics text (ProcessorMetrics over the same snapshots), the two must say the same; each
// figure against its threshold; a drill's progress from the drill scenario.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine, MemorySink } from '../../../services/engine/engine.js';
import { defaultPolicy } from '../../../services/engine/policy.js';
import { createTelemetry } from '../../../services/platform/telemetry.js';
import { ProcessorMetrics } from '../../../services/processor/metrics.js';
import { figuresOf, parseGauges, snapshotSource, FiguresPoller } from '../../../services/console/figures.js';
import { ConsoleState } from '../../../services/console/state.js';
import { defaultDrillScenario, drillScenarioLines } from '../../../services/simulate/drill-scenario.js';
import type { SignEvent } from '../../../schemas/events.js';
import { T0, min, day, kcFail, unlock, cert, heartbeat } from '../engine/helpers.js';

function incident() {
  const policy = defaultPolicy();
  const engine = createEngine(policy, new MemorySink());
  const events: SignEvent[] = [
    heartbeat(T0, 'mini-kr-01'),
    heartbeat(T0, 'mini-kr-02'),
    cert(T0 + min(1), T0 + day(18) + min(30)),
    kcFail(T0 + min(2)),
    kcFail(T0 + min(3), 'HK', 'mini-hk-02'),
    kcFail(T0 + min(4)),
    ...[0, 1, 2, 3, 4, 5].map((i) => unlock(T0 + min(5 + i), 950)),
    heartbeat(T0 + min(25), 'mini-kr-01'),
  ];
  for (const e of events) engine.offer(e);
  return { policy, engine };
}

void test('figures: the same numbers from the engine snapshot and from the processor /metrics text, each against its threshold', async () => {
  const { policy, engine } = incident();
  const at = '2026-11-20T01:00:00.000Z';
  const direct = figuresOf(await snapshotSource(() => engine.snapshot())(), policy, at);
  const telemetry = createTelemetry({ serviceName: 'figures-test', host: '127.0.0.1', port: 0, serve: false });
  new ProcessorMetrics(telemetry, policy, () => engine.snapshot());
  const scraped = figuresOf(parseGauges(await telemetry.scrape()), policy, at);
  assert.deepEqual(scraped, direct);
  assert.deepEqual(direct.HK!.keychainFailures, { count: 3, threshold: 2, windowMs: 3_600_000 });
  assert.equal(direct.SG!.unlockP95!.samples, 6);
  assert.ok(Math.abs(direct.SG!.unlockP95!.ms! - 950) <= 950 * 0.02, `p95 ${direct.SG!.unlockP95!.ms}`);
  assert.equal(direct.SG!.unlockP95!.thresholdMs, 800);
  assert.equal(direct.US!.certExpiry!.days, 18);
  assert.equal(direct.US!.certExpiry!.ticketDays, 21);
  // mini-kr-02 last beat 25 min before the region's clock: silent (15 min); mini-kr-01 beat just now
  assert.deepEqual(direct.KR!.silentHosts, { hosts: ['mini-kr-02'], reporting: 2, silentAfterMs: 900_000 });
  assert.equal(direct.JP!.keychainFailures?.count, 0, 'every region has its count (0)');
  assert.equal(direct.JP!.certExpiry, null, 'no figure where the processor has none');
  assert.equal(direct.JP!.silentHosts, null);
  assert.equal(direct.HK!.drill, null);
});

void test('figures: a drill in progress, then green', async () => {
  const policy = defaultPolicy();
  const engine = createEngine(policy, new MemorySink());
  const start = Date.parse('2026-11-20T06:00:00.000Z');
  const lines = drillScenarioLines(defaultDrillScenario(start, 17)).map((l) => JSON.parse(l) as SignEvent);
  const half = Math.floor(lines.length / 3);
  for (const e of lines.slice(0, half)) engine.offer(e);
  const early = figuresOf(await snapshotSource(() => engine.snapshot())(), policy, 'x');
  const running = Object.values(early).filter((f) => f.drill !== null);
  assert.ok(running.length > 0, 'some region has a drill');
  assert.ok(running.some((f) => f.drill!.timeToGreenS === null && f.drill!.pendingHosts > 0), JSON.stringify(running.map((f) => f.drill)));
  for (const e of lines.slice(half)) engine.offer(e);
  engine.advanceTo(start + day(1));
  const late = figuresOf(await snapshotSource(() => engine.snapshot())(), policy, 'x');
  assert.ok(Object.values(late).some((f) => f.drill !== null && f.drill.timeToGreenS !== null && f.drill.timeToGreenS > 0), JSON.stringify(Object.values(late).map((f) => f.drill)));
});

void test('figures: label values are unescaped; other metrics and non-numbers skipped', () => {
  const g = parseGauges(['# HELP x', 'signwatch_cert_days_to_expiry_days{region="US",sha1="AB",subject="Apple \\"Distribution\\"\\\\x"} 4', 'other_metric{region="US"} 1', 'signwatch_keychain_failures_in_window{region="HK"} NaN', ''].join('\n'));
  assert.deepEqual(g, [{ name: 'signwatch_cert_days_to_expiry_days', labels: { region: 'US', sha1: 'AB', subject: 'Apple "Distribution"\\x' }, value: 4 }]);
});

void test('figures poller: the state shows them, keeps the last good ones and says why a read failed', async () => {
  const { policy, engine } = incident();
  const state = new ConsoleState(policy);
  let fail = false;
  const poller = new FiguresPoller({ source: () => (fail ? Promise.reject(new Error('connection refused')) : snapshotSource(() => engine.snapshot())()), policy, onFigures: (f, e) => state.setFigures(f, e), intervalMs: 3_600_000 });
  await poller.start();
  assert.equal(state.snapshot('x').figures?.HK?.keychainFailures?.count, 3);
  fail = true;
  await poller.poll();
  const s = state.snapshot('x');
  assert.equal(s.figures?.HK?.keychainFailures?.count, 3);
  assert.equal(s.figuresError, 'connection refused');
  await poller.stop();
});
