/**
 * The same real-series check, against the REAL processor: the simulated fleet (demo incidents plus dirt) is
 * produced to a real Kafka broker, `signwatch processor` (child process, unique topics and group, via the
 * processor area's test harness) consumes it, and a real Prometheus scrapes the processor's /metrics while the
 * events flow in. Every dashboard expression must return series wherever its metrics have data.
 * Metrics the processor does not export (yet) are listed in ABSENT_OK and reported in the test diagnostics.
 * Needs: Kafka (npm run kafka:start), prometheus on PATH, SIGNWATCH_INTEGRATION=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REGIONS } from '../../../schemas/events.js';
import { METRICS } from '../../../services/platform/metric-names.js';
import { ALERT_METRICS } from '../../../services/engine/rules/index.js';
import { demoIncidents, simulate } from '../../../services/simulate/simulate.js';
import { JSON_DIR } from '../../../dashboards/src/cli.js';
import { buildDashboards } from '../../../dashboards/src/index.js';
import { loadDashboardPolicy } from '../../../dashboards/src/policy.js';
import type { AnyDashboard } from '../../../dashboards/src/validate.js';
import { checkCoverage, metricNamesIn } from '../../../dashboards/sim/coverage.js';
import { PrometheusServer } from '../../../dashboards/sim/prometheus-server.js';
import { INTEGRATION, sleep, until, World } from '../processor/harness.js';

/** Exported by other components or only when something happens; the processor itself does not export them. */
// rerouted and batch failures exist only when a producer mis-keys or a batch fails (codecs.test.ts, failing-batch.test.ts);
// the drill gauges once a drill ran (test/integration/drill/drill.test.ts reads them from the processor)
const ABSENT_OK: readonly string[] = [METRICS.notifications, METRICS.notificationRetries, METRICS.eventsExpired, METRICS.eventsFuture, ALERT_METRICS.certRevokedHosts, METRICS.eventsRerouted, METRICS.partitionFailures, METRICS.drillTimeToGreen, METRICS.drillPendingHosts];

const skip = INTEGRATION ? false : 'needs the real broker: SIGNWATCH_INTEGRATION=1 after `npm run kafka:start`';

void test('every dashboard expression returns series from Prometheus scraping the real processor', { skip, timeout: 180_000 }, async (t) => {
  const policy = loadDashboardPolicy();
  const start = Date.parse('2026-11-20T00:00:00.000Z');
  const lines = [...simulate({ seed: 11, start, events: 12_000, ratePerSecond: 2, incidents: demoIncidents(start), duplicateRate: 0.01, lateRate: 0.005, malformedRate: 0.002 })];
  const w = new World({ partitions: 3, clock: 'event' });
  const prom = new PrometheusServer({ scrapeInterval: '1s' });
  t.after(async () => {
    await prom.stop();
    await w.cleanup();
  });
  await w.createEventsTopic();
  const proc = await w.startProcessor('p0');
  prom.opts.targets = [`127.0.0.1:${proc.metricsPort}`];
  await prom.start();
  await until('processor /metrics', async () => ((await fetch(`http://127.0.0.1:${proc.metricsPort}/metrics`)).ok ? true : undefined), 30_000);

  // produce in 8 slices, one per second, so rates and increases have several scrapes to work with
  const slices = 8;
  const t0 = Date.now();
  for (let i = 0; i < slices; i++) {
    await w.produceLines(lines.slice(Math.floor((i * lines.length) / slices), Math.floor(((i + 1) * lines.length) / slices)));
    await sleep(1000);
  }
  await w.waitCaughtUp(90_000);
  await sleep(2500);
  const now = Date.now();

  const problems: string[] = [];
  const absent: string[] = [];
  let ran = 0;
  for (const b of buildDashboards(policy)) {
    const d = JSON.parse(readFileSync(join(JSON_DIR, b.file), 'utf8')) as AnyDashboard;
    const r = await checkCoverage(prom, d, [...REGIONS], { at: now, rangeMs: now - t0, stepS: 1, rateInterval: '4s' });
    problems.push(...r.problems);
    absent.push(...r.absent);
    ran += r.queries;
  }
  assert.deepEqual(problems, []);
  // every metric the dashboards read is exported by the processor, except the known ones
  const names = new Set((await prom.labelValues('__name__', '{job="signwatch"}')).map((n) => n.replace(/_(total|bucket|sum|count)$/, '')));
  const missing: string[] = Object.values(METRICS).filter((m) => !names.has(m));
  assert.deepEqual(missing.filter((m) => !ABSENT_OK.includes(m)), [], 'metrics the dashboards query that the processor does not export');
  // expressions reported absent (no series anywhere) may only read those known metrics
  const absentReads = absent.flatMap((a) => metricNamesIn(a)).map((m) => m.replace(/_(total|bucket|sum|count)$/, ''));
  assert.deepEqual([...new Set(absentReads.filter((m) => !ABSENT_OK.includes(m)))], []);
  assert.ok(ran > 100, `ran ${ran} queries`);
  t.diagnostic(`${ran} queries against the real processor; not exported: ${missing.join(', ') || 'none'}; absent: ${absent.join(' | ')}`);
});
