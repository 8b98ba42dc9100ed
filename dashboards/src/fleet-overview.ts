/**
 * Signing fleet overview: per region at a glance — are we paging, why, since when, which hosts, and is it us or
 * Apple. One row repeated per selected region; every threshold comes from the alert policy.
 */
import { BigValueColorMode, BigValueGraphMode, TableCellDisplayMode, TableSortByFieldStateBuilder } from '@grafana/grafana-foundation-sdk/common';
import {
  CustomVariableBuilder,
  MappingType,
  RowBuilder,
  type Dashboard,
  type ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelinePanel } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { REGIONS } from '../../schemas/events.js';
import type { Policy } from '../../services/engine/policy.js';
import { DASHBOARD_UID } from '../../services/alerting/links.js';
import { METRICS } from '../../services/platform/metric-names.js';
import { ALERT_METRICS } from '../../services/engine/rules/index.js';
import { freezingAlerts } from '../../services/engine/engine.js';
import { dashedThresholds, lastValue, pos, prom, redFrom, steps, total, signwatchDashboard } from './common.js';
import { PROMETHEUS } from './datasources.js';
import { jobsHitPanel, recentFailuresPanel } from './postmortem.js';

/** The uid pages and tickets link to (services/alerting/links.ts), with `?var-region=XX`. */
export const FLEET_UID = DASHBOARD_UID;

const GATE: ValueMapping[] = [
  { type: MappingType.ValueToText, options: { '0': { text: 'OPEN', color: 'green', index: 0 }, '1': { text: 'FROZEN', color: 'red', index: 1 } } },
];
const FIRING: ValueMapping[] = [
  { type: MappingType.ValueToText, options: { '0': { text: 'ok', color: 'green', index: 0 }, '1': { text: 'firing', color: 'red', index: 1 } } },
];

/** The region variable: the wire contract's regions, multi-select with All. */
export const regionVariable = (): CustomVariableBuilder =>
  new CustomVariableBuilder('region').label('Region').values(REGIONS.join(',')).multi(true).includeAll(true).allowCustomValue(false).current({ text: 'All', value: '$__all' });

export function fleetOverview(policy: Readonly<Policy>): Dashboard {
  const freezing = freezingAlerts(policy);
  const kc = policy.alerts.codesign_keychain_failures;
  const p95 = policy.alerts.unlock_latency_p95;
  const cert = policy.alerts.cert_expiry;
  const skew = policy.alerts.clock_skew;
  const notaryApple = policy.alerts.notary_apple_outage;
  const notaryOurs = policy.alerts.notary_our_failures;
  const silent = policy.alerts.host_silent;
  const pct = Math.round(p95.quantile * 100);
  // the count fires when > threshold: at the threshold one more failure pages (orange), above it we page (red)
  const kcSteps = steps({ value: null, color: 'green' }, { value: kc.threshold, color: 'orange' }, { value: kc.threshold + 1, color: 'red' });
  const R = '{region="$region"}';
  const RS = '{region=~"$region"}';

  return signwatchDashboard('signwatch / Signing fleet overview', FLEET_UID, ['signwatch', 'codesign'], 'Keychain and code-signing health of the macOS signing fleet, split by region. Thresholds are read from alerts/policy.yaml.')
    .withVariable(regionVariable())
    .withRow(new RowBuilder('Fleet at a glance').id(1).gridPos(pos(0, 0, 24, 1)))
    .withPanel(
      new StatPanel()
        .reduceOptions(lastValue())
        .id(2)
        .title('Alerts firing, by region')
        .description('Number of signwatch alerts firing now (0 for a region with data and nothing firing).')
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`sum by (region) (${METRICS.alertFiring}${RS}) or sum by (region) (0 * ${ALERT_METRICS.keychainFailures}${RS})`, { instant: true, legend: '{{region}}' }))
        .thresholds(redFrom(1))
        .colorMode(BigValueColorMode.Background)
        .graphMode(BigValueGraphMode.None)
        .gridPos(pos(0, 1, 6, 4)),
    )
    .withPanel(
      new StatPanel()
        .reduceOptions(lastValue())
        .id(3)
        .title('Release gate, by region')
        .description(freezing.size ? `Releases freeze in a region while one of these fires: ${[...freezing].join(', ')} (policy: freezes).` : 'No alert freezes releases in the policy.')
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max by (region) (${METRICS.releaseFrozen}${RS})`, { instant: true, legend: '{{region}}' }))
        .mappings(GATE)
        .thresholds(redFrom(1))
        .colorMode(BigValueColorMode.Background)
        .graphMode(BigValueGraphMode.None)
        .gridPos(pos(6, 1, 6, 4)),
    )
    .withPanel(
      new StatPanel()
        .reduceOptions(lastValue())
        .id(4)
        .title(`Keychain failures, trailing ${hours(kc.window)} (page > ${kc.threshold})`)
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max by (region) (${ALERT_METRICS.keychainFailures}${RS})`, { instant: true, legend: '{{region}}' }))
        .thresholds(kcSteps)
        .colorMode(BigValueColorMode.Background)
        .graphMode(BigValueGraphMode.None)
        .gridPos(pos(12, 1, 6, 4)),
    )
    .withPanel(
      new StatPanel()
        .reduceOptions(lastValue())
        .id(5)
        .title('Hosts ready / not ready (agent doctor)')
        .description(
          "Hosts whose last 'signwatch agent doctor' passed every check (ready to join the pool) and those whose last run failed one (docs/rollout.md). A host that never ran the doctor is in neither.",
        )
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`sum by (region) (${METRICS.hostsReady}${RS})`, { instant: true, legend: '{{region}} ready', refId: 'A' }))
        .withTarget(prom(`sum by (region) (${METRICS.hostsNotReady}${RS})`, { instant: true, legend: '{{region}} not ready', refId: 'B' }))
        .colorMode(BigValueColorMode.Value)
        .graphMode(BigValueGraphMode.None)
        .gridPos(pos(18, 1, 6, 4)),
    )
    .withRow(new RowBuilder('Region $region').id(10).repeat('region').gridPos(pos(0, 5, 24, 1)))
    .withPanel(
      new StatPanel()
        .reduceOptions(lastValue())
        .id(11)
        .title(`$region keychain failures (page > ${kc.threshold})`)
        .description(`codesign failures of class keychain in the trailing ${hours(kc.window)}; the page fires when the count is > ${kc.threshold}.`)
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max(${ALERT_METRICS.keychainFailures}${R})`))
        .thresholds(kcSteps)
        .colorMode(BigValueColorMode.Background)
        .graphMode(BigValueGraphMode.Area)
        .gridPos(pos(0, 6, 4, 6)),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(12)
        .title(`$region keychain failures, trailing ${hours(kc.window)}`)
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max(${ALERT_METRICS.keychainFailures}${R})`, { legend: 'keychain failures' }))
        .thresholds(steps({ value: null, color: 'green' }, { value: kc.threshold, color: 'red' }))
        .thresholdsStyle(dashedThresholds())
        .min(0)
        .decimals(0)
        .gridPos(pos(4, 6, 8, 6)),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(13)
        .title(`$region unlock p${pct}, trailing ${hours(p95.window)} (warn > ${p95.thresholdMs} ms)`)
        .description(`Fires when p${pct} > ${p95.thresholdMs} ms with at least ${p95.minSamples} unlocks in the window.`)
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max(${ALERT_METRICS.unlockP95}${R})`, { legend: `p${pct}` }))
        .unit('ms')
        .min(0)
        .thresholds(redFrom(p95.thresholdMs))
        .thresholdsStyle(dashedThresholds())
        .gridPos(pos(12, 6, 8, 6)),
    )
    .withPanel(
      new StatPanel()
        .reduceOptions(lastValue())
        .id(14)
        .title(`$region unlocks in window (min ${p95.minSamples})`)
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max(${ALERT_METRICS.unlockSamples}${R})`, { instant: true }))
        .thresholds(steps({ value: null, color: 'orange' }, { value: p95.minSamples, color: 'green' }))
        .graphMode(BigValueGraphMode.None)
        .gridPos(pos(20, 6, 4, 6)),
    )
    .withPanel(
      new StatPanel()
        .reduceOptions(lastValue())
        .id(15)
        .title('$region release gate')
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max(${METRICS.releaseFrozen}${R})`, { instant: true }))
        .mappings(GATE)
        .thresholds(redFrom(1))
        .colorMode(BigValueColorMode.Background)
        .graphMode(BigValueGraphMode.None)
        .gridPos(pos(0, 12, 4, 5)),
    )
    .withPanel(
      new StateTimelinePanel()
        .id(16)
        .title('$region alerts (since when)')
        .datasource({ ...PROMETHEUS })
        .description('Alerts of the region over time (red while firing). A single "none" row when nothing fired: the processor exports alert series only while they fire.')
        .withTarget(prom(`max by (alert) (${METRICS.alertFiring}${R}) or on () label_replace(0 * max(${ALERT_METRICS.keychainFailures}${R}), "alert", "none", "", "")`, { legend: '{{alert}}' }))
        .mappings(FIRING)
        .thresholds(redFrom(1))
        .gridPos(pos(4, 12, 20, 5)),
    )
    .withPanel(
      new TablePanel()
        .id(17)
        .title(`$region certificates by days to expiry (ticket < ${cert.days} d)`)
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`min by (subject, sha1) (${ALERT_METRICS.certDaysToExpiry}${R})`, { instant: true, table: true }))
        .withTransformation({ id: 'organize', options: { excludeByName: { Time: true }, renameByName: { Value: 'days to expiry' } } })
        .overrideByName('days to expiry', [{ id: 'custom.cellOptions', value: { type: TableCellDisplayMode.ColorBackground } }])
        .thresholds(steps({ value: null, color: 'red' }, { value: cert.days, color: 'green' }))
        .decimals(1)
        .gridPos(pos(0, 17, 8, 7)),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(18)
        .title('$region notarization: Apple vs us (per hour)')
        .description('Failed notarizations split by cause: Apple API errors vs our own keychain / credential failures (retries must not hide those).')
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(notarized('outcome!="accepted", class="apple_api"'), { refId: 'A', legend: 'Apple API' }))
        .withTarget(prom(notarized('outcome!="accepted", class=~"keychain|auth"'), { refId: 'B', legend: 'ours: keychain / credentials' }))
        .withTarget(prom(notarized('outcome="accepted"'), { refId: 'C', legend: 'accepted' }))
        .overrideByName('Apple API', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'purple' } }])
        .overrideByName('ours: keychain / credentials', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }])
        .overrideByName('accepted', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'green' } }])
        .min(0)
        .gridPos(pos(8, 17, 8, 7)),
    )
    .withPanel(
      new TablePanel()
        .id(19)
        .title('$region codesign errors by host and code (trailing hour)')
        .datasource({ ...PROMETHEUS })
        .withTarget(
          prom(`sum by (host, code) (increase(${total(METRICS.hostErrors)}${R}[1h])) or on (host) sum by (host) (0 * increase(${total(METRICS.hostEvents)}{region="$region", type="codesign"}[1h]))`, {
            instant: true,
            table: true,
          }),
        )
        .withTransformation({ id: 'organize', options: { excludeByName: { Time: true }, renameByName: { Value: 'errors' } } })
        .decimals(0)
        .sortBy([new TableSortByFieldStateBuilder().displayName('errors').desc(true)])
        .gridPos(pos(16, 17, 8, 7)),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(20)
        .title(`$region clock skew by host (warn > ${skew.maxOffsetMs} ms)`)
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max by (host) (abs(${ALERT_METRICS.clockOffset}${R}))`, { legend: '{{host}}' }))
        .unit('ms')
        .min(0)
        .thresholds(redFrom(skew.maxOffsetMs))
        .thresholdsStyle(dashedThresholds())
        .gridPos(pos(0, 24, 16, 6)),
    )
    .withPanel(
      new StatPanel()
        .reduceOptions(lastValue())
        .id(21)
        .title('$region hosts drifting from parity')
        .description('Hosts whose wrapper checksum, keychain path or search list differs from the region majority.')
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max(${ALERT_METRICS.parityDrift}${R})`))
        .thresholds(redFrom(1))
        .colorMode(BigValueColorMode.Background)
        .graphMode(BigValueGraphMode.Area)
        .gridPos(pos(16, 24, 8, 6)),
    )
    // still inside the repeated region row: notarization, heartbeat silence, spool drops, clock probes, revocations
    .withPanel(
      new TimeseriesPanel()
        .id(26)
        .title(`$region notarization: Apple outages vs ours, trailing ${hours(notaryApple.window)}`)
        .description(`Apple-side failed attempts (HTTP 429/5xx, network; retries that later succeeded included; warn > ${notaryApple.threshold}) against failures that are ours (auth, keychain; warn > ${notaryOurs.threshold}).`)
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max(${ALERT_METRICS.notaryAppleFailures}${R})`, { refId: 'A', legend: 'Apple-side failed attempts' }))
        .withTarget(prom(`max(${ALERT_METRICS.notaryOurFailures}${R})`, { refId: 'B', legend: 'our failures (auth, keychain)' }))
        .min(0)
        .decimals(0)
        .gridPos(pos(0, 31, 8, 6)),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(27)
        .title(`$region heartbeat silence by host (warn ≥ ${Math.round(silent.silentAfter / 60_000)} min) and of the whole region`)
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max by (host) (${ALERT_METRICS.hostSilence}${R})`, { legend: '{{host}}' }))
        .withTarget(prom(`max(${ALERT_METRICS.regionSilence}${R})`, { legend: 'whole region (critical)', refId: 'B' }))
        .unit('s')
        .min(0)
        .thresholds(redFrom(silent.silentAfter / 1000))
        .thresholdsStyle(dashedThresholds())
        .gridPos(pos(8, 31, 8, 6)),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(28)
        .title('$region spool drops, failed clock probes, revoked certificates')
        .description('Events a full agent spool dropped recently (they never reached Kafka) and in all (the hosts\' reported totals), sntp probes failing in a row, and hosts still holding a revoked certificate (it pages).')
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max by (host) (${ALERT_METRICS.spoolDropped}${R})`, { refId: 'A', legend: 'dropped {{host}}' }))
        .withTarget(prom(`max by (host) (${ALERT_METRICS.clockProbeFailures}${R})`, { refId: 'B', legend: 'probe failures {{host}}' }))
        .withTarget(prom(`max by (subject) (${ALERT_METRICS.certRevokedHosts}${R})`, { refId: 'C', legend: 'revoked cert still on hosts: {{subject}}' }))
        .withTarget(prom(`sum(${ALERT_METRICS.spoolDroppedTotal}${R})`, { refId: 'D', legend: 'dropped since the agents started (region total)' }))
        .min(0)
        .decimals(0)
        .gridPos(pos(16, 31, 8, 6)),
    )
    // the quarterly revoke-one-certificate drill (docs/engine.md, "Drills"): every selected region side by side
    .withRow(new RowBuilder('Drill: revoke one certificate, time to green').id(40).gridPos(pos(0, 37, 24, 1)))
    .withPanel(
      new StatPanel()
        .id(41)
        .title('Time to green of the latest drill, by region')
        .description('From the drill start to the first instant every signing host that heartbeat in the hour before it has a scan without the revoked certificate and a signing call with another identity (signwatch drill report --id ID).')
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max by (region) (${METRICS.drillTimeToGreen}${RS})`, { legend: '{{region}}', instant: true }))
        .unit('s')
        .decimals(0)
        .colorMode(BigValueColorMode.Value)
        .graphMode(BigValueGraphMode.None)
        .reduceOptions(lastValue())
        .gridPos(pos(0, 38, 12, 6)),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(42)
        .title('Drill: hosts still pending, by region')
        .description('Hosts of the cohort still lacking a clean scan or a signing call with the replacement identity (signwatch drill status says which and what).')
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max by (region) (${METRICS.drillPendingHosts}${RS})`, { legend: '{{region}}' }))
        .min(0)
        .decimals(0)
        .gridPos(pos(12, 38, 12, 6)),
    )
    .withRow(new RowBuilder('Postmortem (PostgreSQL event store)').id(30).gridPos(pos(0, 44, 24, 1)))
    .withPanel(recentFailuresPanel(31, 45))
    .withPanel(jobsHitPanel(32, 55))
    .build();
}

/**
 * Notarizations of the row's region in the trailing hour matching `filter`; 0 (not "no data") when the region
 * notarized but nothing matched, so "no Apple errors" and "no data" look different.
 */
function notarized(filter: string): string {
  const n = total(METRICS.notarizeOutcomes);
  return `sum(increase(${n}{region="$region", ${filter}}[1h])) or 0 * sum(increase(${n}{region="$region"}[1h]))`;
}

/** "1h" for 3_600_000; windows are whole minutes in practice. */
export function hours(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return `${Math.round(ms / 60_000)}m`;
}
