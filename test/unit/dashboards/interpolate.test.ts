import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpolatePromQL, interpolateSQL } from '../../../dashboards/src/interpolate.js';
import { metricNamesIn } from '../../../dashboards/sim/coverage.js';

const multi = new Set(['region']);

void test('PromQL: multi-value variables become a regex alternation, one value stays bare, $__rate_interval is replaced', () => {
  assert.equal(interpolatePromQL('x{region=~"$region"}[$__rate_interval]', { region: ['HK', 'JP'] }, multi, '4s'), 'x{region=~"(HK|JP)"}[4s]');
  assert.equal(interpolatePromQL('x{region="$region"}', { region: ['SG'] }, multi, '4s'), 'x{region="SG"}');
  assert.equal(interpolatePromQL('x{host="${host}"}', { host: ['mini-hk-01'] }, multi, '4s'), 'x{host="mini-hk-01"}');
  assert.equal(interpolatePromQL('x{host=~"$host"}', { host: ['a.b'] }, new Set(['host']), '4s'), 'x{host=~"a\\.b"}');
  assert.throws(() => interpolatePromQL('x{host="$hots"}', { host: ['a'] }, multi, '4s'), /no value for variable \$hots/);
});

void test('SQL: ${x:sqlstring} quotes every value and doubles quotes; $__timeFilter expands to the time range', () => {
  const from = new Date('2026-11-20T00:00:00.000Z');
  const to = new Date('2026-11-20T02:15:00.000Z');
  assert.equal(
    interpolateSQL('WHERE $__timeFilter(ts) AND region IN (${region:sqlstring}) AND host = ${host:sqlstring}', { region: ['HK', 'JP'], host: ["o'brien"] }, multi, from, to),
    "WHERE ts BETWEEN '2026-11-20T00:00:00.000Z' AND '2026-11-20T02:15:00.000Z' AND region IN ('HK','JP') AND host = 'o''brien'",
  );
  // Grafana: a plain multi-value variable is a quoted list too; a plain single-value one is inserted as is
  assert.equal(interpolateSQL('IN ($region) AND h = $host', { region: ['US'], host: ['x'] }, multi, from, to), "IN ('US') AND h = x");
});

void test('metric names are found with their exposition suffixes', () => {
  assert.deepEqual(metricNamesIn('sum(rate(signwatch_events_in_total{a="b"}[1m])) / signwatch_unlock_duration_ms_bucket'), ['signwatch_events_in_total', 'signwatch_unlock_duration_ms_bucket']);
});
