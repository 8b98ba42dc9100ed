/**
 * Small helpers shared by the dashboard definitions: Prometheus targets bound to the provisioned data source,
 * threshold steps and grid positions. Nothing here knows a metric name or a threshold value: those come from
 * services/platform/metric-names.ts and the alert policy.
 */
import { GraphThresholdsStyleConfigBuilder, GraphThresholdsStyleMode, ReduceDataOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import { DashboardBuilder, DashboardCursorSync, ThresholdsConfigBuilder, ThresholdsMode, type GridPos } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder as PromQuery, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PROMETHEUS } from './datasources.js';

export interface PromOpts {
  refId?: string;
  legend?: string;
  /** Instant query (stat, table); default: range. */
  instant?: boolean;
  /** Table format (one row per series, labels as columns). */
  table?: boolean;
}

export function prom(expr: string, opts: PromOpts = {}): PromQuery {
  const q = new PromQuery().datasource({ ...PROMETHEUS }).refId(opts.refId ?? 'A').expr(expr);
  if (opts.legend !== undefined) q.legendFormat(opts.legend);
  if (opts.instant) q.instant();
  else q.range();
  if (opts.table) q.format(PromQueryFormat.Table);
  return q;
}

/** Counter series name as the OpenTelemetry Prometheus exporter writes it (`_total` appended). */
export const total = (counter: string): string => `${counter}_total`;

export interface Step {
  value: number | null;
  color: string;
}

/** Absolute thresholds: the first step's value must be null (the base colour). */
export function steps(...s: Step[]): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(s.map((x) => ({ value: x.value, color: x.color })));
}

/** "green below `at`, red from `at` on": Grafana colours a value v with the highest step whose value ≤ v. */
export const redFrom = (at: number): ThresholdsConfigBuilder => steps({ value: null, color: 'green' }, { value: at, color: 'red' });

/** Draw the thresholds of a time series as a dashed line. */
export const dashedThresholds = (): GraphThresholdsStyleConfigBuilder => new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed);

/** Stat panels show the last non-null value of each series. */
export const lastValue = (): ReduceDataOptionsBuilder => new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);

export const pos = (x: number, y: number, w: number, h: number): GridPos => ({ x, y, w, h });

/** The settings every signwatch dashboard shares: stable uid, tags, 1 m refresh, last 6 h in UTC, shared crosshair, read-only. */
export function signwatchDashboard(title: string, uid: string, tags: string[], description: string): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .tags(tags)
    .description(description)
    .refresh('1m')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('utc')
    .tooltip(DashboardCursorSync.Crosshair)
    .readonly();
}
