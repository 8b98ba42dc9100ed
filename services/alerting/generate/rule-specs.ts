/**
 * One spec per alert of the policy: the PromQL over the processor's exact gauges (services/common/metric-names.ts),
 * the comparison and threshold taken from the policy, the annotations, and the promtool test cases on both sides
 * of the threshold. Prometheus rules, promtool tests, Grafana rules and runbooks are all rendered from these specs,
 * so a threshold is written only in alerts/policy.yaml.
 */
import { METRICS } from '../../common/metric-names.js';
import { formatDuration } from '../../../schemas/duration.js';
import type { AlertName, Policy, Severity } from '../../../schemas/policy.js';
import { dashboardUrl, runbookUrl } from '../links.js';

export class GenerateError extends Error {
  readonly code = 'SW_ALERTS_GENERATE';
  readonly retryable = false;
}

export interface TestSeries {
  series: string;
  /** A constant value held for the whole test. */
  value: number;
}

export interface ExpectedAlert {
  labels: Record<string, string>;
  /** The rendered summary (promtool renders annotation templates). */
  summary: string;
  region?: string;
}

export interface RuleSpec {
  alert: AlertName;
  severity: Severity;
  /** PromQL whose value is compared with the threshold. */
  base: string;
  op: '>' | '<';
  threshold: number;
  /** Labels the alert is keyed by (after aggregation). */
  keyLabels: string[];
  summary: string;
  description: string;
  runbookUrl: string;
  dashboardUrl: string;
  /** Series for the promtool test; `fire` must alert, everything else must stay quiet. */
  series: TestSeries[];
  fire: ExpectedAlert[];
}

const sel = (metric: string, labels: Record<string, string>): string =>
  `${metric}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;

/** Go's %v rendering of a float64 for the integer and short decimal values used in tests. */
export const goFloat = (n: number): string => String(n);

export function ruleSpecs(policy: Readonly<Policy>): RuleSpec[] {
  const a = policy.alerts;
  const specs: RuleSpec[] = [];
  const regionDash = dashboardUrl(policy, '{{ $labels.region }}');
  const common = (alert: AlertName) => ({ alert, severity: a[alert].severity, runbookUrl: runbookUrl(policy, alert) });

  if (a.codesign_keychain_failures.enabled) {
    const p = a.codesign_keychain_failures;
    const w = formatDuration(p.window);
    specs.push({
      ...common('codesign_keychain_failures'),
      base: METRICS.keychainFailures,
      op: '>',
      threshold: p.threshold,
      keyLabels: ['region'],
      summary: `{{ $labels.region }}: {{ $value }} keychain-class codesign failures in the trailing ${w} (page when > ${p.threshold})${p.freezeReleases ? '; releases frozen' : ''}`,
      description: `Count of codesign failures with error class "keychain" in the trailing ${w} per region, exact (computed by the signwatch processor).`,
      dashboardUrl: regionDash,
      series: [
        { series: sel(METRICS.keychainFailures, { region: 'HK' }), value: p.threshold },
        { series: sel(METRICS.keychainFailures, { region: 'JP' }), value: p.threshold + 1 },
      ],
      fire: [
        {
          labels: { region: 'JP' },
          region: 'JP',
          summary: `JP: ${goFloat(p.threshold + 1)} keychain-class codesign failures in the trailing ${w} (page when > ${p.threshold})${p.freezeReleases ? '; releases frozen' : ''}`,
        },
      ],
    });
  }

  if (a.unlock_latency_p95.enabled) {
    const p = a.unlock_latency_p95;
    if (p.quantile !== 0.95) {
      throw new GenerateError(
        `alerts.unlock_latency_p95.quantile: the processor exports ${METRICS.unlockP95} (p95 only); generated rules need quantile 0.95, got ${p.quantile}`,
      );
    }
    const w = formatDuration(p.window);
    const base = `(${METRICS.unlockP95} and on (region) (${METRICS.unlockSamples} >= ${p.minSamples}))`;
    const sum = (r: string, v: number | string) =>
      `${r}: unlock helper p95 ${v} ms over the trailing ${w} (warn when > ${p.thresholdMs} ms with at least ${p.minSamples} unlocks): investigate vault or disk contention`;
    specs.push({
      ...common('unlock_latency_p95'),
      base,
      op: '>',
      threshold: p.thresholdMs,
      keyLabels: ['region'],
      summary: sum('{{ $labels.region }}', '{{ $value }}'),
      description: `p95 of unlock helper durationMs in the trailing ${w} per region (DDSketch, 1 % relative accuracy), only with at least ${p.minSamples} samples in the window.`,
      dashboardUrl: regionDash,
      series: [
        { series: sel(METRICS.unlockP95, { region: 'HK' }), value: p.thresholdMs },
        { series: sel(METRICS.unlockSamples, { region: 'HK' }), value: p.minSamples },
        { series: sel(METRICS.unlockP95, { region: 'JP' }), value: p.thresholdMs + 1 },
        { series: sel(METRICS.unlockSamples, { region: 'JP' }), value: p.minSamples },
        { series: sel(METRICS.unlockP95, { region: 'KR' }), value: p.thresholdMs + 1 },
        { series: sel(METRICS.unlockSamples, { region: 'KR' }), value: p.minSamples - 1 },
      ],
      fire: [{ labels: { region: 'JP' }, region: 'JP', summary: sum('JP', goFloat(p.thresholdMs + 1)) }],
    });
  }

  if (a.cert_expiry.enabled) {
    const p = a.cert_expiry;
    const sum = (subject: string, sha1: string, v: string) =>
      `certificate "${subject}" (${sha1}) expires in ${v} days (ticket when < ${p.days}): rotate it`;
    const quiet = '1111111111111111111111111111111111111111';
    const due = '2222222222222222222222222222222222222222';
    specs.push({
      ...common('cert_expiry'),
      base: `min by (sha1, subject) (${METRICS.certDaysToExpiry})`,
      op: '<',
      threshold: p.days,
      keyLabels: ['sha1', 'subject'],
      summary: sum('{{ $labels.subject }}', '{{ $labels.sha1 }}', '{{ $value }}'),
      description: `Days from now to the certificate's notAfter, lowest over the regions that reported it in the last ${formatDuration(p.staleAfter)}. One ticket per certificate (key signwatch/cert_expiry/<sha1>).`,
      dashboardUrl: dashboardUrl(policy),
      series: [
        { series: sel(METRICS.certDaysToExpiry, { region: 'HK', sha1: quiet, subject: 'Apple Distribution: Quiet' }), value: p.days },
        { series: sel(METRICS.certDaysToExpiry, { region: 'HK', sha1: due, subject: 'Apple Distribution: Due' }), value: p.days + 5 },
        { series: sel(METRICS.certDaysToExpiry, { region: 'JP', sha1: due, subject: 'Apple Distribution: Due' }), value: p.days - 1 },
      ],
      fire: [
        {
          labels: { sha1: due, subject: 'Apple Distribution: Due' },
          summary: sum('Apple Distribution: Due', due, goFloat(p.days - 1)),
        },
      ],
    });
  }

  if (a.clock_skew.enabled) {
    const p = a.clock_skew;
    const sum = (r: string, h: string, v: string) =>
      `${r}/${h}: clock offset |${v}| ms beyond ${p.maxOffsetMs} ms: notarization timestamps will break; check NTP (sntp)`;
    specs.push({
      ...common('clock_skew'),
      base: `abs(${METRICS.clockOffset})`,
      op: '>',
      threshold: p.maxOffsetMs,
      keyLabels: ['region', 'host'],
      summary: sum('{{ $labels.region }}', '{{ $labels.host }}', '{{ $value }}'),
      description: `Absolute sntp offset of the host's latest clock probe.`,
      dashboardUrl: regionDash,
      series: [
        { series: sel(METRICS.clockOffset, { region: 'HK', host: 'mac-hk-01' }), value: p.maxOffsetMs },
        { series: sel(METRICS.clockOffset, { region: 'JP', host: 'mac-jp-01' }), value: -(p.maxOffsetMs + 1) },
        { series: sel(METRICS.clockOffset, { region: 'KR', host: 'mac-kr-01' }), value: p.maxOffsetMs + 1 },
      ],
      fire: [
        { labels: { region: 'JP', host: 'mac-jp-01' }, region: 'JP', summary: sum('JP', 'mac-jp-01', goFloat(p.maxOffsetMs + 1)) },
        { labels: { region: 'KR', host: 'mac-kr-01' }, region: 'KR', summary: sum('KR', 'mac-kr-01', goFloat(p.maxOffsetMs + 1)) },
      ],
    });
  }

  if (a.parity_drift.enabled) {
    const sum = (r: string, v: string) =>
      `${r}: ${v} host(s) differ from the region's majority (wrapper checksum, keychain path, search list or team IDs)`;
    specs.push({
      ...common('parity_drift'),
      base: METRICS.parityDrift,
      op: '>',
      threshold: 0,
      keyLabels: ['region'],
      summary: sum('{{ $labels.region }}', '{{ $value }}'),
      description: `Hosts whose latest heartbeat (newer than ${formatDuration(a.parity_drift.staleAfter)}) differs from the region's majority.`,
      dashboardUrl: regionDash,
      series: [
        { series: sel(METRICS.parityDrift, { region: 'HK' }), value: 0 },
        { series: sel(METRICS.parityDrift, { region: 'JP' }), value: 1 },
      ],
      fire: [{ labels: { region: 'JP' }, region: 'JP', summary: sum('JP', '1') }],
    });
  }

  // These two are decided by the engine on single events (no threshold gauge): the rules mirror its firing state.
  if (a.acl_outside_window.enabled) {
    const sum = (r: string, h: string) =>
      `${r}/${h}: set-key-partition-list ran outside a declared maintenance window (security)`;
    specs.push({
      ...common('acl_outside_window'),
      base: `max by (region, host) (${METRICS.alertFiring}{alert="acl_outside_window"})`,
      op: '>',
      threshold: 0,
      keyLabels: ['region', 'host'],
      summary: sum('{{ $labels.region }}', '{{ $labels.host }}'),
      description: `Mirrors the signwatch engine (signwatch_alert_firing): it holds for ${formatDuration(a.acl_outside_window.holdFor)} after the command.`,
      dashboardUrl: regionDash,
      series: [
        { series: sel(METRICS.alertFiring, { alert: 'acl_outside_window', region: 'HK', host: 'mac-hk-01', severity: a.acl_outside_window.severity }), value: 0 },
        { series: sel(METRICS.alertFiring, { alert: 'acl_outside_window', region: 'JP', host: 'mac-jp-01', severity: a.acl_outside_window.severity }), value: 1 },
      ],
      fire: [{ labels: { region: 'JP', host: 'mac-jp-01' }, region: 'JP', summary: sum('JP', 'mac-jp-01') }],
    });
  }

  if (a.distribution_key_on_compile_host.enabled) {
    const sum = (r: string, h: string) => `${r}/${h}: a distribution signing identity is present on a compile-pool host: remove it`;
    specs.push({
      ...common('distribution_key_on_compile_host'),
      base: `max by (region, host) (${METRICS.alertFiring}{alert="distribution_key_on_compile_host"})`,
      op: '>',
      threshold: 0,
      keyLabels: ['region', 'host'],
      summary: sum('{{ $labels.region }}', '{{ $labels.host }}'),
      description: `Mirrors the signwatch engine (signwatch_alert_firing): a certificate of kind ${a.distribution_key_on_compile_host.kinds.join(', ')} reported by a pool=compile host in the last ${formatDuration(a.distribution_key_on_compile_host.staleAfter)}.`,
      dashboardUrl: regionDash,
      series: [
        { series: sel(METRICS.alertFiring, { alert: 'distribution_key_on_compile_host', region: 'HK', host: 'mac-hk-02', severity: a.distribution_key_on_compile_host.severity }), value: 0 },
        { series: sel(METRICS.alertFiring, { alert: 'distribution_key_on_compile_host', region: 'US', host: 'mac-us-07', severity: a.distribution_key_on_compile_host.severity }), value: 1 },
      ],
      fire: [{ labels: { region: 'US', host: 'mac-us-07' }, region: 'US', summary: sum('US', 'mac-us-07') }],
    });
  }
  return specs;
}

export const promExpr = (s: RuleSpec): string => `${s.base} ${s.op} ${s.threshold}`;
