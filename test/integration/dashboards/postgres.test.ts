/**
 * Every SQL query of the dashboards' PostgreSQL panels runs against the real PostgreSQL event store
 * (services/query PostgresEventStore, its own migrations, in a unique schema created and dropped here), filled
 * with the simulated fleet's events (demo incidents), after the same macro and variable expansion Grafana does.
 * Env: SIGNWATCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { parseEvent } from '../../../schemas/events.js';
import { PostgresEventStore } from '../../../services/query/postgres-store.js';
import { JSON_DIR } from '../../../dashboards/src/cli.js';
import { buildDashboards } from '../../../dashboards/src/index.js';
import { interpolateSQL, multiVariables } from '../../../dashboards/src/interpolate.js';
import { loadDashboardPolicy } from '../../../dashboards/src/policy.js';
import { SQL_HOST_EVENTS, SQL_JOBS_HIT, SQL_RECENT_FAILURES } from '../../../dashboards/src/postmortem.js';
import { dashboardQueries, type AnyDashboard } from '../../../dashboards/src/validate.js';
import { LiveFleet } from '../../../dashboards/sim/live-fleet.js';

const PG_URL = process.env.SIGNWATCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

void test('every PostgreSQL panel query runs against the real event store and returns the incident', { timeout: 120_000 }, async (t) => {
  const policy = loadDashboardPolicy();
  const start = Date.parse('2026-11-20T00:00:00.000Z');
  const fleet = new LiveFleet(policy, { start, events: 12_000 });
  fleet.advanceTo(fleet.end);
  const inputs = fleet
    .delivered()
    .map((raw) => ({ raw, r: parseEvent(raw) }))
    .flatMap(({ raw, r }) => (r.ok ? [{ event: r.event, raw }] : []));

  const schema = `sw_dash_${process.pid}_${Date.now().toString(36)}`;
  const store = new PostgresEventStore(`${PG_URL}?schema=${schema}`);
  // what Grafana's data source role does: search_path = the store's schema
  const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema} -c TimeZone=UTC` });
  t.after(async () => {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await client.end().catch(() => undefined);
    await store.close();
  });
  await store.open();
  let added = 0;
  for (let i = 0; i < inputs.length; i += 2000) added += await store.insertBatch(inputs.slice(i, i + 2000));
  assert.ok(added > 10_000, `stored ${added} events`);
  await client.connect();

  const from = new Date(start);
  const to = new Date(fleet.end + 1);
  const regions = ['HK', 'JP', 'KR', 'SG', 'US'];
  const hk = inputs.filter((i) => i.event.region === 'HK' && i.event.type === 'codesign' && i.event.outcome === 'fail');
  const host = hk[0]!.event.host;

  type Row = Record<string, unknown>;
  const seen = new Set<string>();
  const results = new Map<string, Row[]>();
  for (const b of buildDashboards(policy)) {
    const d = JSON.parse(readFileSync(join(JSON_DIR, b.file), 'utf8')) as AnyDashboard;
    const multi = multiVariables(d);
    for (const q of dashboardQueries(d).filter((x) => x.kind === 'sql')) {
      const sql = interpolateSQL(q.text, { region: regions, host: [host] }, multi, from, to);
      const r = await client.query<Row>(sql);
      assert.ok(r.rows.length > 0, `${b.file} panel ${q.panelId} '${q.panelTitle}' returned no rows:\n${sql}`);
      seen.add(q.text);
      results.set(q.text, r.rows);
    }
  }
  assert.deepEqual([...seen].sort(), [SQL_HOST_EVENTS, SQL_JOBS_HIT, SQL_RECENT_FAILURES].sort(), 'every postmortem query is on a dashboard');

  // recent failures: only failures, newest first, capped, with the keychain incident's evidence
  const recent = results.get(SQL_RECENT_FAILURES)!;
  assert.ok(recent.length <= 200);
  for (const r of recent) assert.ok(!['ok', 'accepted'].includes(String(r.outcome)), `outcome ${String(r.outcome)}`);
  const times = recent.map((r) => (r.time as Date).getTime());
  assert.deepEqual(times, [...times].sort((a, b) => b - a));
  // HK's keychain lock (+1h…+1h20): the panel, filtered to HK, shows keychain-class failures with keychain paths and CI job ids
  const multiFleet = multiVariables(JSON.parse(readFileSync(join(JSON_DIR, buildDashboards(policy)[0]!.file), 'utf8')) as AnyDashboard);
  const hkRows = (await client.query<Row>(interpolateSQL(SQL_RECENT_FAILURES, { region: ['HK'] }, multiFleet, new Date(start + 60 * 60_000), new Date(start + 80 * 60_000)))).rows;
  assert.ok(hkRows.length > 0);
  assert.ok(hkRows.every((r) => r.region === 'HK'));
  const keychain = hkRows.filter((r) => r.error_class === 'keychain');
  assert.ok(keychain.length >= 3, `HK keychain failures in the incident: ${keychain.length}`);
  assert.ok(keychain.every((r) => typeof r.keychain === 'string' && typeof r.error_code === 'string' && typeof r.message === 'string'));
  assert.ok(keychain.some((r) => typeof r.correlation_id === 'string'));

  // CI jobs hit: grouped by correlation id, every group has failures, hosts and codes
  const jobs = results.get(SQL_JOBS_HIT)!;
  assert.ok(jobs.every((r) => typeof r.correlation_id === 'string' && Number(r.failures) > 0 && typeof r.hosts === 'string'));
  assert.ok(jobs.length <= 50);

  // host events: only that host (cross-checked by id against the store's own filter)
  const hostRows = results.get(SQL_HOST_EVENTS)!;
  const hostTotal = inputs.filter((i) => i.event.host === host).length;
  assert.equal(hostRows.length, Math.min(200, hostTotal));
  // ${host:sqlstring}: a hostile host label stays a string literal
  const hostile = await client.query(interpolateSQL(SQL_HOST_EVENTS, { host: ["nobody' OR 'x'='x"] }, new Set(), from, to));
  assert.equal(hostile.rows.length, 0);
});
