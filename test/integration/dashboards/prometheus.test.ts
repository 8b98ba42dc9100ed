/**
 * Real-series proof: a real Prometheus (Debian package, own port and temp dir) scrapes a /metrics endpoint served
 * by the real OpenTelemetry Prometheus exporter, fed by a simulated fleet (services/simulate demo incidents) run
 * through the real alert engine (dashboards/sim). Every PromQL expression of every bundled dashboard — expanded
 * the way Grafana expands it — must return series wherever its metrics have data (dashboards/sim/coverage.ts):
 * for each region (queries inside the per-region row), for every host (host drilldown), for every region at once
 * (region-split panels). The generated Prometheus rules are evaluated against the same series.
 * Needs: `prometheus` on PATH (apt-get install prometheus). Runs in about 20 s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { join } from 'node:path';
import { REGIONS } from '../../../schemas/events.js';
import { METRICS } from '../../../services/platform/metric-names.js';
import { ALERT_METRICS } from '../../../services/engine/rules/index.js';
import { JSON_DIR } from '../../../dashboards/src/cli.js';
import { buildDashboards } from '../../../dashboards/src/index.js';
import { loadDashboardPolicy } from '../../../dashboards/src/policy.js';
import type { AnyDashboard } from '../../../dashboards/src/validate.js';
import { checkCoverage, metricNamesIn } from '../../../dashboards/sim/coverage.js';
import { LiveFleet } from '../../../dashboards/sim/live-fleet.js';
import { SimExporter } from '../../../dashboards/sim/otel-exporter.js';
import { PrometheusServer } from '../../../dashboards/sim/prometheus-server.js';

const MINUTE = 60_000;
/** Series that exist only once what they count happened (the simulated incidents have no revoked certificate, no mis-keyed event, no failing batch, no drill). */
const ONLY_WHEN_IT_HAPPENS: readonly string[] = [ALERT_METRICS.certRevokedHosts, METRICS.eventsRerouted, METRICS.partitionFailures, METRICS.drillTimeToGreen, METRICS.drillPendingHosts];
const SPEED = 10 * MINUTE; // virtual ms per real second
const RUN_MS = 8_000;
const RATE_INTERVAL = '4s'; // Grafana: max($__interval + scrape, 4 × scrape) with the 1 s scrape used here

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

void test('every dashboard PromQL expression returns series from a real Prometheus scraping the simulated fleet', { timeout: 120_000 }, async (t) => {
  const policy = loadDashboardPolicy();
  const start = Date.parse('2026-11-20T00:00:00.000Z');
  const fleet = new LiveFleet(policy, { start, events: 22_000 });
  fleet.advanceTo(start + 55 * MINUTE);
  const exporter = new SimExporter(fleet.metrics);
  const prom = new PrometheusServer({ scrapeInterval: '1s' });
  t.after(async () => {
    await prom.stop();
    await exporter.stop();
  });
  exporter.sync();
  const port = await exporter.start();
  prom.opts.targets = [`127.0.0.1:${port}`];
  await prom.start();

  // the fleet goes through HK's keychain lock (+1h…+1h20) and into SG's slow vault (+2h) while Prometheus scrapes
  const t0 = Date.now();
  let virtual = start + 55 * MINUTE;
  while (Date.now() - t0 < RUN_MS) {
    virtual = start + 55 * MINUTE + ((Date.now() - t0) / 1000) * SPEED;
    fleet.advanceTo(virtual);
    exporter.sync();
    await sleep(250);
  }
  await sleep(2500); // two more scrapes of the final values
  const now = Date.now();

  const regions = [...new Set(fleet.metrics.hostList().map((h) => h.region))].sort();
  assert.deepEqual(regions, [...REGIONS]);
  const problems: string[] = [];
  let ran = 0;
  for (const b of buildDashboards(policy)) {
    const d = JSON.parse(readFileSync(join(JSON_DIR, b.file), 'utf8')) as AnyDashboard;
    const r = await checkCoverage(prom, d, regions, { at: now, rangeMs: RUN_MS, stepS: 1, rateInterval: RATE_INTERVAL });
    problems.push(...r.problems);
    // the simulated exporter creates every series at start-up, so nothing may be absent but the metrics that exist
    // only once their event happened (a revoked certificate)
    problems.push(...r.absent.filter((a) => !ONLY_WHEN_IT_HAPPENS.some((m) => a.includes(m))).map((a) => `${a}: none of its metrics has series`));
    ran += r.queries;
    if (r.variables.host) assert.deepEqual(r.variables.host, fleet.metrics.hostList().map((h) => h.host), `${b.file}: host variable lists the fleet's hosts`);
  }
  assert.deepEqual(problems, []);
  assert.ok(ran > 100, `ran ${ran} queries`);

  // every metric name is exported under the name the dashboards query (counters with _total, histogram buckets)
  const names = new Set((await prom.labelValues('__name__', '{job="signwatch"}')).map((n) => n.replace(/_(total|bucket|sum|count)$/, '')));
  assert.deepEqual(Object.values(METRICS).filter((m) => !names.has(m) && !ONLY_WHEN_IT_HAPPENS.includes(m)), []);

  // the generated Prometheus rules (alerts/prometheus) evaluate against the same series without error
  const rulesFile = new URL('../../../../alerts/prometheus/signwatch.rules.yml', import.meta.url);
  if (existsSync(rulesFile)) {
    const rules = (parse(readFileSync(rulesFile, 'utf8')) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);
    assert.ok(rules.length > 0);
    for (const rule of rules) {
      await prom.query(String(rule.expr), now); // throws on a PromQL error
      for (const m of metricNamesIn(String(rule.expr))) if (!ONLY_WHEN_IT_HAPPENS.includes(m)) assert.ok(names.has(m.replace(/_(total|bucket|sum|count)$/, '')), `rule ${rule.alert ?? rule.record}: ${m} not exported`);
    }
    t.diagnostic(`${rules.length} generated rule expressions evaluated`);
  }

  // the numbers are the engine's: the region stat panels show exactly the exported values
  const gauges = fleet.metrics.gaugeSamples();
  for (const r of regions) {
    const want = gauges.find((g) => g.name === ALERT_METRICS.keychainFailures && g.labels.region === r)?.value;
    const got = await prom.query(`max(${ALERT_METRICS.keychainFailures}{region="${r}"})`, now);
    assert.equal(Number(got[0]?.value?.[1]), want, `keychain failures ${r}`);
  }
  const firing = gauges.filter((g) => g.name === METRICS.alertFiring && g.value === 1).length;
  assert.ok(firing >= 1, 'the demo incidents fire at least one alert by +2h15');
  const promFiring = await prom.query(`sum(${METRICS.alertFiring})`, now);
  assert.equal(Number(promFiring[0]?.value?.[1]), firing);
  t.diagnostic(`${ran} queries; virtual clock ${new Date(virtual).toISOString()}; ${firing} alert series firing`);
});
