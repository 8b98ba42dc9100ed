/**
 * Real-series proof: a real Prometheus (Debian package, own port and temp dir) scrapes a /metrics endpoint served
 * by the real OpenTelemetry Prometheus exporter, fed by a simulated fleet (services/simulate demo incidents) run
 * through the real alert engine (dashboards/sim). Every PromQL expression of every bundled dashboard — expanded
 * the way Grafana expands it — must return series: for each region where the fleet has data (queries inside the
 * per-region row), for every host (host drilldown), for every region at once (region-split panels).
 * Needs: `prometheus` on PATH (apt-get install prometheus). Runs in about 20 s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REGIONS } from '../../../schemas/events.js';
import { METRICS } from '../../../services/common/metric-names.js';
import { JSON_DIR } from '../../../dashboards/src/cli.js';
import { buildDashboards } from '../../../dashboards/src/index.js';
import { interpolatePromQL, multiVariables, type VarValues } from '../../../dashboards/src/interpolate.js';
import { loadDashboardPolicy } from '../../../dashboards/src/policy.js';
import { dashboardQueries, variableQuery, type AnyDashboard } from '../../../dashboards/src/validate.js';
import { LiveFleet } from '../../../dashboards/sim/live-fleet.js';
import { SimExporter } from '../../../dashboards/sim/otel-exporter.js';
import { PrometheusServer, type PromSeries } from '../../../dashboards/sim/prometheus-server.js';

const MINUTE = 60_000;
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
  const all: VarValues = { region: regions };
  const problems: string[] = [];
  let ran = 0;

  const run = async (expr: string, instant: boolean): Promise<PromSeries[]> => {
    ran++;
    return instant ? prom.query(expr, now) : prom.queryRange(expr, now - RUN_MS, now, 1);
  };

  for (const b of buildDashboards(policy)) {
    const d = JSON.parse(readFileSync(join(JSON_DIR, b.file), 'utf8')) as AnyDashboard;
    const multi = multiVariables(d);
    // variable queries: label_values(<selector>, host) must list every host that sends heartbeats
    let hosts: string[] = [];
    for (const v of d.templating.list ?? []) {
      if (v.type !== 'query') continue;
      const m = /^label_values\((.+),\s*([a-z_]+)\)$/.exec(interpolatePromQL(variableQuery(v), all, multi, RATE_INTERVAL));
      assert.ok(m, `${b.file} variable ${v.name}: unsupported query ${variableQuery(v)}`);
      hosts = await prom.labelValues(m[2]!, m[1]!);
      const expected = fleet.metrics.hostList().map((h) => h.host);
      assert.deepEqual(hosts, expected, `${b.file} variable ${v.name} lists the fleet's hosts`);
    }
    for (const q of dashboardQueries(d)) {
      if (q.kind !== 'prometheus') continue;
      const where = `${b.file} panel ${q.panelId} '${q.panelTitle}' ${q.refId}`;
      try {
        if (q.repeat === 'region') {
          for (const r of regions) {
            const expr = interpolatePromQL(q.text, { region: [r] }, multi, RATE_INTERVAL);
            if ((await run(expr, q.instant)).length === 0) problems.push(`${where}: no series for region ${r}: ${expr}`);
          }
        } else if (q.text.includes('$host')) {
          for (const h of hosts) {
            const expr = interpolatePromQL(q.text, { ...all, host: [h] }, multi, RATE_INTERVAL);
            if ((await run(expr, q.instant)).length === 0) problems.push(`${where}: no series for host ${h}: ${expr}`);
          }
        } else {
          const expr = interpolatePromQL(q.text, all, multi, RATE_INTERVAL);
          const series = await run(expr, q.instant);
          if (series.length === 0) problems.push(`${where}: no series: ${expr}`);
          if (q.legend?.includes('{{region}}')) {
            const got = [...new Set(series.map((s) => s.metric.region))].sort();
            if (JSON.stringify(got) !== JSON.stringify(regions)) problems.push(`${where}: regions ${got.join(',')} instead of ${regions.join(',')}`);
          }
        }
      } catch (e) {
        problems.push(`${where}: ${(e as Error).message}`);
      }
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(ran > 100, `ran ${ran} queries`);

  // the numbers are the engine's: the region stat panels show exactly the exported values
  const gauges = fleet.metrics.gaugeSamples();
  for (const r of regions) {
    const want = gauges.find((g) => g.name === METRICS.keychainFailures && g.labels.region === r)?.value;
    const got = await prom.query(`max(${METRICS.keychainFailures}{region="${r}"})`, now);
    assert.equal(Number(got[0]?.value?.[1]), want, `keychain failures ${r}`);
  }
  const firing = gauges.filter((g) => g.name === METRICS.alertFiring && g.value === 1).length;
  assert.ok(firing >= 1, 'the demo incidents fire at least one alert by +2h15');
  const promFiring = await prom.query(`sum(${METRICS.alertFiring})`, now);
  assert.equal(Number(promFiring[0]?.value?.[1]), firing);
  t.diagnostic(`${ran} queries; virtual clock ${new Date(virtual).toISOString()}; ${firing} alert series firing`);
});
