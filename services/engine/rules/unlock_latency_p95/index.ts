/** unlock_latency_p95{region}: the vault/disk contention warning. See rule.ts for the exact semantics. */
import { formatDuration } from '../../../platform/duration.js';
import { CodedError } from '../../../platform/errors.js';
import { defineRule, goFloat, promSelector } from '../definition.js';
import { policy } from './policy.js';
import { UnlockLatency } from './rule.js';

export const METRIC_P95 = 'signwatch_unlock_p95_in_window_ms';
export const METRIC_SAMPLES = 'signwatch_unlock_samples_in_window';

export default defineRule({
  name: 'unlock_latency_p95',
  meaning: 'the p95 of unlock-helper latency in the trailing window of a region is above the threshold (vault or disk contention)',
  policy,
  types: ['unlock'],
  labels: [],
  create: (region, cfg) => new UnlockLatency(region, cfg),
  horizon: (cfg) => cfg.window,
  gauges: [
    { name: METRIC_P95, description: 'p95 of unlock latency over the policy window of unlock_latency_p95 (exact)', read: (r) => (r.p95 === null ? [] : [{ labels: {}, value: r.p95 }]) },
    { name: METRIC_SAMPLES, description: 'Unlock samples in the policy window of unlock_latency_p95', read: (r) => [{ labels: {}, value: r.samples }] },
  ],
  alertRule(p, ctx) {
    if (p.quantile !== 0.95) {
      throw new CodedError('SW_ALERTS_GENERATE', `alerts.unlock_latency_p95.quantile: the processor exports ${METRIC_P95} (p95 only); generated rules need quantile 0.95, got ${p.quantile}`);
    }
    const w = formatDuration(p.window);
    const sum = (r: string, v: number | string) =>
      `${r}: unlock helper p95 ${v} ms over the trailing ${w} (warn when > ${p.thresholdMs} ms with at least ${p.minSamples} unlocks): investigate vault or disk contention`;
    return {
      alert: 'unlock_latency_p95',
      severity: p.severity,
      runbookUrl: ctx.runbookUrl,
      base: `(${METRIC_P95} and on (region) (${METRIC_SAMPLES} >= ${p.minSamples}))`,
      op: '>',
      threshold: p.thresholdMs,
      keyLabels: ['region'],
      summary: sum('{{ $labels.region }}', '{{ $value }}'),
      description: `p95 of unlock helper durationMs in the trailing ${w} per region (DDSketch, 1 % relative accuracy), only with at least ${p.minSamples} samples in the window.`,
      dashboardUrl: ctx.regionDashboardUrl,
      series: [
        { series: promSelector(METRIC_P95, { region: 'HK' }), value: p.thresholdMs },
        { series: promSelector(METRIC_SAMPLES, { region: 'HK' }), value: p.minSamples },
        { series: promSelector(METRIC_P95, { region: 'JP' }), value: p.thresholdMs + 1 },
        { series: promSelector(METRIC_SAMPLES, { region: 'JP' }), value: p.minSamples },
        { series: promSelector(METRIC_P95, { region: 'KR' }), value: p.thresholdMs + 1 },
        { series: promSelector(METRIC_SAMPLES, { region: 'KR' }), value: p.minSamples - 1 },
      ],
      fire: [{ labels: { region: 'JP' }, region: 'JP', summary: sum('JP', goFloat(p.thresholdMs + 1)) }],
    };
  },
});
