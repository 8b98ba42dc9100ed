/**
 * Postmortem panels on the PostgreSQL event store (services/query): every event signwatch accepted, so on-call can
 * see which hosts, keychains, error codes and CI jobs (correlation ids) sit behind a page.
 *
 * Variables use Grafana's `sqlstring` format (each value quoted, quotes doubled, comma-joined), so a host name
 * can never become SQL.
 * SQL is written against the `events` table of services/query/postgres-store.ts (id, ts timestamptz, type, region,
 * host, pool, outcome, error_code, error_class, keychain, correlation_id, invocation_id, partition_ids jsonb,
 * raw text). The Grafana data source's role should have `search_path` set to the store's schema (default
 * `signwatch`): ALTER ROLE grafana_reader SET search_path = signwatch. Grafana expands `$__timeFilter(ts)` to the dashboard time range and
 * `${region:sqlstring}` to 'HK','JP' and `${host:sqlstring}` to 'mini-hk-01'.
 * The integration test runs these exact strings against a real PostgreSQL after the same expansion.
 */
import { MappingType } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { pos } from './common.js';
import { POSTGRES } from './datasources.js';
import { SqlQueryBuilder } from './sql-query.js';

/** Outcomes that are not failures (codesign/unlock `ok`, notarize `accepted`); null outcome = not an attempt. */
const FAILED = `outcome IS NOT NULL AND outcome NOT IN ('ok', 'accepted')`;

export const SQL_RECENT_FAILURES = `SELECT ts AS "time", region, host, type, outcome, error_code,
  error_class, keychain, correlation_id, invocation_id,
  (raw::jsonb)->'error'->>'message' AS message
FROM events
WHERE $__timeFilter(ts) AND region IN (\${region:sqlstring}) AND ${FAILED}
ORDER BY ts DESC, id DESC
LIMIT 200`;

export const SQL_JOBS_HIT = `SELECT correlation_id, region, count(*) AS failures,
  min(ts) AS first_failure, max(ts) AS last_failure,
  string_agg(DISTINCT host, ', ') AS hosts,
  string_agg(DISTINCT keychain, ', ') AS keychains,
  string_agg(DISTINCT error_code, ', ') AS error_codes
FROM events
WHERE $__timeFilter(ts) AND region IN (\${region:sqlstring}) AND ${FAILED} AND correlation_id IS NOT NULL
GROUP BY correlation_id, region
ORDER BY last_failure DESC
LIMIT 50`;

export const SQL_HOST_EVENTS = `SELECT ts AS "time", type, outcome, error_code, keychain, correlation_id, invocation_id,
  (raw::jsonb)->'error'->>'message' AS message
FROM events
WHERE $__timeFilter(ts) AND host = \${host:sqlstring}
ORDER BY ts DESC, id DESC
LIMIT 200`;

function sqlTable(id: number, title: string, description: string, sql: string): TablePanel {
  return new TablePanel()
    .id(id)
    .title(title)
    .description(description)
    .datasource({ ...POSTGRES })
    .withTarget(new SqlQueryBuilder(sql).refId('A').datasource(POSTGRES).format('table'))
    .filterable(true);
}

export function recentFailuresPanel(id: number, y: number): TablePanel {
  return sqlTable(id, 'Postmortem: recent failures (event store)', 'Every failed codesign / unlock / notarize event in the time range, newest first, with keychain, error code and the CI job (correlation id).', SQL_RECENT_FAILURES)
    .gridPos(pos(0, y, 24, 10))
    .mappings([{ type: MappingType.ValueToText, options: { fail: { text: 'fail', color: 'red' } } }]);
}

export function jobsHitPanel(id: number, y: number): TablePanel {
  return sqlTable(id, 'Postmortem: CI jobs hit (by correlation id)', 'Which pipelines failed, on which hosts and keychains, with which error codes.', SQL_JOBS_HIT).gridPos(pos(0, y, 24, 8));
}

export function hostEventsPanel(id: number, y: number): TablePanel {
  return sqlTable(id, 'Recent events of $host (event store)', 'The last 200 events this host sent, newest first.', SQL_HOST_EVENTS).gridPos(pos(0, y, 24, 10));
}
