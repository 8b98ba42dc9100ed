import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { METRICS } from '../../../services/platform/metric-names.js';
import { ALERT_METRICS } from '../../../services/engine/rules/index.js';
import { defaultPolicy, parsePolicy } from '../../../services/engine/policy.js';
import { REGIONS } from '../../../schemas/events.js';
import { checkDashboards, JSON_DIR, run } from '../../../dashboards/src/cli.js';
import { ALL_DATASOURCES, PROMETHEUS } from '../../../dashboards/src/datasources.js';
import { buildDashboards, render } from '../../../dashboards/src/index.js';
import { loadDashboardPolicy } from '../../../dashboards/src/policy.js';
import { generateDashboardSchema, loadDashboardSchema, renderSchema, SCHEMA_PATH } from '../../../dashboards/src/schema.js';
import {
  allPanels,
  compileSchema,
  dashboardQueries,
  lintDashboard,
  readProvisionedDatasources,
  schemaErrors,
  variablesIn,
  type AnyDashboard,
} from '../../../dashboards/src/validate.js';
import { UsageError } from '../../../services/platform/errors.js';
import { DASHBOARD_UID } from '../../../services/alerting/links.js';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parse } from 'yaml';

const committed = (file: string): AnyDashboard => JSON.parse(readFileSync(join(JSON_DIR, file), 'utf8')) as AnyDashboard;
const bundled = buildDashboards(loadDashboardPolicy());

void test('committed dashboard JSON equals what dashboards/src generates from the policy (drift)', () => {
  assert.equal(bundled.length, 3);
  for (const b of bundled) assert.equal(readFileSync(join(JSON_DIR, b.file), 'utf8'), render(b.dashboard), `${b.file} drifted: run 'signwatch dashboards generate'`);
  assert.deepEqual(checkDashboards(), []);
});

void test('generation is deterministic: two builds give the same bytes', () => {
  const again = buildDashboards(loadDashboardPolicy());
  for (let i = 0; i < bundled.length; i++) assert.equal(render(again[i]!.dashboard), render(bundled[i]!.dashboard));
});

void test('every dashboard validates against the JSON Schema generated from the SDK types', () => {
  const validate = compileSchema(loadDashboardSchema());
  for (const b of bundled) assert.deepEqual(schemaErrors(validate, committed(b.file)), [], b.file);
});

void test('the schema rejects a misspelt key, a wrong type, an unknown target shape and a bad enum', () => {
  const validate = compileSchema(loadDashboardSchema());
  const d = structuredClone(committed(`${DASHBOARD_UID}.json`)) as unknown as Record<string, unknown> & { panels: Record<string, unknown>[] };
  d.graphTooltip = 7;
  (d.panels[1] as { gridPos: { w: unknown } }).gridPos.w = '8';
  (d.panels[1] as { targets: Record<string, unknown>[] }).targets[0]!.exprr = 'up';
  d.panels[2]!.titel = 'typo';
  const errs = schemaErrors(validate, d).join('\n');
  assert.match(errs, /\/graphTooltip must be equal to one of the allowed values/);
  assert.match(errs, /\/panels\/1\/gridPos\/w must be number/);
  assert.match(errs, /\/panels\/1\/targets\/0 must NOT have additional properties 'exprr'/);
  assert.match(errs, /\/panels\/2 must NOT have additional properties 'titel'/);
});

void test('the committed JSON Schema is what the installed foundation SDK types generate (schema drift)', () => {
  assert.equal(readFileSync(SCHEMA_PATH, 'utf8'), renderSchema(generateDashboardSchema()), "run 'signwatch dashboards schema'");
});

void test('every $variable is declared and every data source uid is provisioned', () => {
  const provisioned = readProvisionedDatasources();
  for (const b of bundled) assert.deepEqual(lintDashboard(committed(b.file), provisioned), [], b.file);
});

void test('lint catches an undeclared variable, an unprovisioned uid, a type mismatch and a duplicate panel id', () => {
  const d = structuredClone(committed('signwatch-host.json'));
  const panels = allPanels(d).filter((p) => p.type !== 'row');
  panels[0]!.targets![0]!.expr = 'up{host="$hots"}';
  panels[1]!.datasource = { type: 'prometheus', uid: 'prom-typo' };
  panels[1]!.targets![0]!.datasource = { type: 'prometheus', uid: 'prom-typo' };
  panels[2]!.targets![0]!.datasource = { type: 'loki', uid: PROMETHEUS.uid };
  panels[3]!.id = panels[4]!.id!;
  const problems = lintDashboard(d, readProvisionedDatasources()).join('\n');
  assert.match(problems, /\$hots is not a declared variable/);
  assert.match(problems, /data source uid 'prom-typo' is not provisioned/);
  assert.match(problems, /has type 'loki', provisioned as 'prometheus'/);
  assert.match(problems, /duplicate panel id/);
});

void test('variable syntaxes: $x, ${x}, ${x:csv}, [[x]]; Grafana built-ins are not variables', () => {
  assert.deepEqual(variablesIn('a $region ${host} ${pool:csv} [[team]] [$__rate_interval] $__timeFilter(ts)'), ['region', 'host', 'pool', 'team']);
});

void test('provisioning declares exactly the data sources the dashboards use (both directions)', () => {
  const prov = readProvisionedDatasources().map((d) => `${d.type}/${d.uid}`).sort();
  assert.deepEqual(prov, ALL_DATASOURCES.map((d) => `${d.type}/${d.uid}`).sort());
  const used = new Set<string>();
  for (const b of bundled) for (const p of allPanels(committed(b.file))) for (const t of p.targets ?? []) used.add(`${t.datasource?.type}/${t.datasource?.uid}`);
  assert.deepEqual([...used].sort(), prov);
  const provider = readFileSync(new URL('../../../../dashboards/provisioning/dashboards/signwatch.yaml', import.meta.url), 'utf8');
  assert.match(provider, /type: file/);
});

void test('pages link to the fleet overview: its uid is the alerting DASHBOARD_UID and it has the region variable', () => {
  const d = committed(`${DASHBOARD_UID}.json`);
  assert.equal(d.uid, DASHBOARD_UID);
  assert.ok(d.templating.list?.some((v) => v.name === 'region'));
});

void test('the generated Grafana alert rules only use provisioned data source uids', () => {
  const dir = new URL('../../../../alerts/grafana/provisioning/alerting/', import.meta.url);
  const provisioned = new Set(readProvisionedDatasources().map((d) => d.uid));
  const uids = new Set<string>();
  const walk = (o: unknown): void => {
    if (Array.isArray(o)) o.forEach(walk);
    else if (o && typeof o === 'object') {
      for (const [k, v] of Object.entries(o)) {
        if (k === 'datasourceUid' && typeof v === 'string') uids.add(v);
        else walk(v);
      }
    }
  };
  if (existsSync(dir)) for (const f of readdirSync(dir).filter((n) => /\.ya?ml$/.test(n))) walk(parse(readFileSync(new URL(f, dir), 'utf8')));
  uids.delete('__expr__');
  for (const u of uids) assert.ok(provisioned.has(u), `alert rules use data source uid '${u}', not provisioned in dashboards/provisioning`);
});

void test('stable identity: fixed dashboard uids, explicit unique panel ids', () => {
  assert.deepEqual(bundled.map((b) => b.dashboard.uid), [DASHBOARD_UID, 'signwatch-host', 'signwatch-pipeline']);
  for (const b of bundled) {
    const ids = allPanels(b.dashboard as AnyDashboard).map((p) => p.id);
    assert.ok(ids.every((i) => typeof i === 'number'), b.file);
    assert.equal(new Set(ids).size, ids.length, b.file);
  }
});

void test('fleet overview: region variable HK/JP/KR/SG/US multi + All, one row repeated per region', () => {
  const d = committed(`${DASHBOARD_UID}.json`);
  const region = d.templating.list?.find((v) => v.name === 'region');
  assert.equal(region?.query, REGIONS.join(','));
  assert.equal(region?.multi, true);
  assert.equal(region?.includeAll, true);
  const repeated = d.panels?.filter((p) => p.repeat === 'region') ?? [];
  assert.equal(repeated.length, 1);
  assert.equal(repeated[0]!.type, 'row');
  // every panel under the repeated row queries its single region
  const qs = dashboardQueries(d).filter((q) => q.repeat === 'region');
  assert.ok(qs.length >= 10);
  for (const q of qs) assert.match(q.text, /region="\$region"/, q.panelTitle);
});

void test('PromQL only uses metric names from services/platform/metric-names.ts and the alerts\' folders', () => {
  const known = new Set<string>([...Object.values(METRICS), ...Object.values(ALERT_METRICS)]);
  const seen = new Set<string>();
  for (const b of bundled) {
    for (const q of dashboardQueries(committed(b.file))) {
      if (q.kind !== 'prometheus') continue;
      for (const m of q.text.matchAll(/\bsignwatch_[a-z0-9_]+/g)) {
        const base = m[0].replace(/_(total|bucket|sum|count)$/, '');
        assert.ok(known.has(base), `${q.dashboard} panel ${q.panelId}: unknown metric ${m[0]}`);
        seen.add(base);
      }
    }
  }
  // every exported metric is on some dashboard
  assert.deepEqual([...known].filter((k) => !seen.has(k)), []);
});

void test('every threshold drawn comes from the policy: a different policy moves every one of them', () => {
  const custom = parsePolicy({
    alerts: {
      codesign_keychain_failures: { threshold: 7 },
      unlock_latency_p95: { thresholdMs: 1234, minSamples: 9, quantile: 0.9 },
      cert_expiry: { days: 30 },
      clock_skew: { maxOffsetMs: 250 },
      parity_drift: { staleAfter: '3h' },
    },
  });
  type ThrPanel = { id?: number; fieldConfig?: { defaults?: { thresholds?: { steps: { value: number | null }[] } } } };
  type ThrDash = { panels?: ThrPanel[] };
  const [fleet, host] = buildDashboards(custom).map((b) => b.dashboard as unknown as ThrDash);
  const stepsOf = (d: ThrDash | undefined, id: number): (number | null)[] => (d?.panels?.find((p) => p.id === id)?.fieldConfig?.defaults?.thresholds?.steps ?? []).map((s) => s.value);
  assert.deepEqual(stepsOf(fleet, 11), [null, 7, 8]); // keychain failures: orange at the threshold, red above (fires when > 7)
  assert.deepEqual(stepsOf(fleet, 12), [null, 7]);
  assert.deepEqual(stepsOf(fleet, 13), [null, 1234]);
  assert.deepEqual(stepsOf(fleet, 14), [null, 9]);
  assert.deepEqual(stepsOf(fleet, 17), [null, 30]);
  assert.deepEqual(stepsOf(fleet, 20), [null, 250]);
  assert.deepEqual(stepsOf(host, 2), [null, 10800]);
  assert.deepEqual(stepsOf(host, 13), [null, 1234]);
  const text = JSON.stringify(fleet) + JSON.stringify(host);
  assert.match(text, /page > 7/);
  assert.match(text, /unlock p90/);
  assert.match(text, /histogram_quantile\(0\.9, /);
  // and the defaults are what the committed files show
  const d = defaultPolicy();
  assert.deepEqual(stepsOf(committed(`${DASHBOARD_UID}.json`) as unknown as ThrDash, 13), [null, d.alerts.unlock_latency_p95.thresholdMs]);
});

void test('signwatch dashboards: --help exits 0, bad usage throws a UsageError naming the problem', async () => {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = () => true;
  try {
    assert.equal(await run(['--help']), 0);
  } finally {
    process.stdout.write = write;
  }
  await assert.rejects(run([]), (e: unknown) => e instanceof UsageError && /missing action/.test(e.message));
  await assert.rejects(run(['publish']), (e: unknown) => e instanceof UsageError && /unknown action 'publish'/.test(e.message));
  await assert.rejects(run(['check', '--bogus']), (e: unknown) => e instanceof UsageError && /--bogus/.test(e.message));
  await assert.rejects(run(['check', '--policy', '/nonexistent.yaml']), (e: unknown) => e instanceof UsageError && /--policy/.test(e.message));
  // a bad policy names the file, the line and the key, and nothing is written
  const dir = mkdtempSync(join(tmpdir(), 'sw-dash-unit-'));
  try {
    writeFileSync(join(dir, 'policy.yaml'), 'alerts:\n  unlock_latency_p95:\n    thresholdMs: fast\n');
    await assert.rejects(run(['generate', '--policy', join(dir, 'policy.yaml'), '--out', join(dir, 'out')]), /policy\.yaml:3: alerts\.unlock_latency_p95\.thresholdMs/);
    assert.equal(existsSync(join(dir, 'out', `${DASHBOARD_UID}.json`)), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
