/**
 * The real-series check shared by the integration test (and usable against any Prometheus that scrapes a
 * signwatch processor): every PromQL expression of every bundled dashboard, expanded as Grafana expands it, must
 * return series wherever the data it reads exists —
 *   - queries in the per-region row: for each region where any metric of the expression has a series;
 *   - queries on `$host`: for each host the host variable lists that has data for the expression's metrics;
 *   - other queries: non-empty when any of its metrics has series, and, when the legend splits by {{region}},
 *     one series for every region that has data for those metrics.
 * An expression whose metrics have no series at all (e.g. expired events when none expired) is reported as
 * `absent`, not as a failure; callers assert on the list of absent metrics separately.
 */
import { interpolatePromQL, multiVariables, type VarValues } from '../src/interpolate.js';
import { dashboardQueries, variableQuery, type AnyDashboard } from '../src/validate.js';
import type { PrometheusServer, PromSeries } from './prometheus-server.js';

export interface CoverageOptions {
  at: number;
  rangeMs: number;
  stepS: number;
  rateInterval: string;
}

export interface CoverageResult {
  queries: number;
  problems: string[];
  /** Expressions skipped because none of their metrics had series anywhere. */
  absent: string[];
  /** Values of each query variable (label_values) as Grafana would list them. */
  variables: Record<string, string[]>;
}

export const metricNamesIn = (expr: string): string[] => [...new Set([...expr.matchAll(/\bsignwatch_[a-z0-9_]+/g)].map((m) => m[0]))];

export async function checkCoverage(prom: PrometheusServer, d: AnyDashboard, regions: readonly string[], o: CoverageOptions): Promise<CoverageResult> {
  const multi = multiVariables(d);
  const all: VarValues = { region: regions };
  const res: CoverageResult = { queries: 0, problems: [], absent: [], variables: {} };
  const run = (expr: string, instant: boolean): Promise<PromSeries[]> => {
    res.queries++;
    return instant ? prom.query(expr, o.at) : prom.queryRange(expr, o.at - o.rangeMs, o.at, o.stepS);
  };
  const withData = async (names: string[], label: string, extra = ''): Promise<Set<string>> => {
    const sel = `{__name__=~"${names.join('|')}"${extra}}`;
    const r = await prom.query(`count by (${label}) (last_over_time(${sel}[5m]))`, o.at);
    return new Set(r.map((s) => s.metric[label] ?? '').filter(Boolean));
  };

  for (const v of d.templating.list ?? []) {
    if (v.type !== 'query') continue;
    const m = /^label_values\((.+),\s*([a-z_]+)\)$/.exec(interpolatePromQL(variableQuery(v), all, multi, o.rateInterval));
    if (!m) {
      res.problems.push(`variable ${v.name}: unsupported query ${variableQuery(v)}`);
      continue;
    }
    res.variables[v.name] = await prom.labelValues(m[2]!, m[1]!);
    if (res.variables[v.name]!.length === 0) res.problems.push(`variable ${v.name}: no values`);
  }
  const hosts = res.variables.host ?? [];

  for (const q of dashboardQueries(d)) {
    if (q.kind !== 'prometheus') continue;
    const where = `${d.uid ?? ''} panel ${q.panelId} '${q.panelTitle}' ${q.refId}`;
    const names = metricNamesIn(q.text);
    try {
      if (q.repeat === 'region') {
        const have = await withData(names, 'region');
        if (have.size === 0) res.absent.push(`${where}: ${q.text}`);
        for (const r of regions) {
          if (!have.has(r)) continue;
          const expr = interpolatePromQL(q.text, { region: [r] }, multi, o.rateInterval);
          if ((await run(expr, q.instant)).length === 0) res.problems.push(`${where}: no series for region ${r}: ${expr}`);
        }
      } else if (q.text.includes('$host')) {
        const have = await withData(names, 'host');
        if (have.size === 0) res.absent.push(`${where}: ${q.text}`);
        for (const h of hosts) {
          if (!have.has(h)) continue;
          const expr = interpolatePromQL(q.text, { ...all, host: [h] }, multi, o.rateInterval);
          if ((await run(expr, q.instant)).length === 0) res.problems.push(`${where}: no series for host ${h}: ${expr}`);
        }
      } else {
        const expr = interpolatePromQL(q.text, all, multi, o.rateInterval);
        const any = await prom.query(`count(last_over_time({__name__=~"${names.join('|')}"}[5m]))`, o.at);
        if (any.length === 0) {
          res.absent.push(`${where}: ${q.text}`);
          continue;
        }
        const series = await run(expr, q.instant);
        if (series.length === 0) res.problems.push(`${where}: no series: ${expr}`);
        if (q.legend?.includes('{{region}}')) {
          const have = await withData(names, 'region', `, region=~"${regions.join('|')}"`);
          const got = new Set(series.map((s) => s.metric.region));
          const missing = [...have].filter((r) => !got.has(r));
          if (missing.length > 0) res.problems.push(`${where}: no series for region(s) ${missing.join(',')} that have data: ${expr}`);
        }
      }
    } catch (e) {
      res.problems.push(`${where}: ${(e as Error).message}`);
    }
  }
  return res;
}
