/**
 * Host drilldown: one signing host — its events, failures by error code, unlock latency, heartbeat age and spool
 * depth, and its recent events from the PostgreSQL event store.
 */
import { BigValueColorMode, BigValueGraphMode } from '@grafana/grafana-foundation-sdk/common';
import { MappingType, QueryVariableBuilder, RowBuilder, VariableRefresh, VariableSort, type Dashboard, type ValueMapping } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import type { Policy } from '../../services/engine/policy.js';
import { METRICS } from '../../services/platform/metric-names.js';
import { ALERT_METRICS } from '../../services/engine/rules/index.js';
import { dashedThresholds, lastValue, pos, prom, redFrom, steps, total, signwatchDashboard } from './common.js';
import { PROMETHEUS } from './datasources.js';
import { regionVariable } from './fleet-overview.js';
import { hostEventsPanel } from './postmortem.js';

export const HOST_UID = 'signwatch-host';

const READY: ValueMapping[] = [
  { type: MappingType.ValueToText, options: { '0': { text: 'NOT READY', color: 'red', index: 0 }, '1': { text: 'READY', color: 'green', index: 1 } } },
];

export function hostDrilldown(policy: Readonly<Policy>): Dashboard {
  const p95 = policy.alerts.unlock_latency_p95;
  const skew = policy.alerts.clock_skew;
  const staleS = policy.alerts.parity_drift.staleAfter / 1000;
  const pct = Math.round(p95.quantile * 100);
  const H = '{host="$host"}';

  return signwatchDashboard('signwatch / Host drilldown', HOST_UID, ['signwatch', 'codesign'], 'One signing host: events, failures by error code, unlock latency, heartbeat age, spool depth.')
    .withVariable(regionVariable())
    .withVariable(
      new QueryVariableBuilder('host')
        .label('Host')
        .datasource({ ...PROMETHEUS })
        .query(`label_values(${METRICS.heartbeatAge}{region=~"$region"}, host)`)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc),
    )
    .withRow(new RowBuilder('$host now').id(1).gridPos(pos(0, 0, 24, 1)))
    .withPanel(
      new StatPanel()
        .reduceOptions(lastValue())
        .id(2)
        .title(`Heartbeat age (stale > ${staleS / 60} min)`)
        .description('A heartbeat older than the parity staleAfter of the policy drops the host out of its region majority.')
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max(${METRICS.heartbeatAge}${H})`))
        .unit('s')
        .thresholds(redFrom(staleS))
        .graphMode(BigValueGraphMode.Area)
        .gridPos(pos(0, 1, 6, 4)),
    )
    .withPanel(
      new StatPanel()
        .reduceOptions(lastValue())
        .id(3)
        .title('Agent spool depth')
        .description('Events written to the durable spool and not yet acknowledged by Kafka.')
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max(${METRICS.spoolDepth}${H})`))
        .unit('short')
        .graphMode(BigValueGraphMode.Area)
        .gridPos(pos(6, 1, 6, 4)),
    )
    .withPanel(
      new StatPanel()
        .reduceOptions(lastValue())
        .id(4)
        .title(`Clock offset (warn > ${skew.maxOffsetMs} ms)`)
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max(abs(${ALERT_METRICS.clockOffset}${H}))`))
        .unit('ms')
        .thresholds(redFrom(skew.maxOffsetMs))
        .graphMode(BigValueGraphMode.Area)
        .gridPos(pos(12, 1, 6, 4)),
    )
    .withPanel(
      new StatPanel()
        .reduceOptions(lastValue())
        .id(5)
        .title('Production-ready (last agent doctor)')
        .description("1 READY when the host's last 'signwatch agent doctor' passed every check, 0 NOT READY when one failed (the doctor event in the store lists which, with the fix); no data when it never ran (docs/rollout.md).")
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max(${METRICS.hostReady}${H})`, { instant: true }))
        .mappings(READY)
        .thresholds(steps({ value: null, color: 'red' }, { value: 1, color: 'green' }))
        .colorMode(BigValueColorMode.Background)
        .graphMode(BigValueGraphMode.None)
        .gridPos(pos(18, 1, 6, 4)),
    )
    .withRow(new RowBuilder('$host over time').id(10).gridPos(pos(0, 5, 24, 1)))
    .withPanel(
      new TimeseriesPanel()
        .id(11)
        .title('Events by type and outcome (/s)')
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`sum by (type, outcome) (rate(${total(METRICS.hostEvents)}${H}[$__rate_interval]))`, { legend: '{{type}} {{outcome}}' }))
        .unit('reqps')
        .min(0)
        .gridPos(pos(0, 6, 12, 8)),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(12)
        .title('codesign failures by error code (trailing hour)')
        .datasource({ ...PROMETHEUS })
        .description('Trailing-hour count per error code; a single "none" series at 0 when the host signed without errors.')
        .withTarget(
          prom(`sum by (code) (increase(${total(METRICS.hostErrors)}${H}[1h])) or on () label_replace(0 * sum(increase(${total(METRICS.hostEvents)}{host="$host", type="codesign"}[1h])), "code", "none", "", "")`, {
            legend: '{{code}}',
          }),
        )
        .min(0)
        .gridPos(pos(12, 6, 12, 8)),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(13)
        .title(`Unlock latency p50 / p${pct} (warn > ${p95.thresholdMs} ms)`)
        .description(`From the unlock duration histogram over the rate interval; the region alert uses the exact p${pct} over the trailing hour.`)
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`histogram_quantile(0.5, sum by (le) (rate(${METRICS.unlockDuration}_bucket${H}[$__rate_interval])))`, { refId: 'A', legend: 'p50' }))
        .withTarget(prom(`histogram_quantile(${p95.quantile}, sum by (le) (rate(${METRICS.unlockDuration}_bucket${H}[$__rate_interval])))`, { refId: 'B', legend: `p${pct}` }))
        .unit('ms')
        .min(0)
        .thresholds(redFrom(p95.thresholdMs))
        .thresholdsStyle(dashedThresholds())
        .gridPos(pos(0, 14, 8, 8)),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(14)
        .title('Heartbeat age')
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max(${METRICS.heartbeatAge}${H})`, { legend: 'heartbeat age' }))
        .unit('s')
        .min(0)
        .thresholds(redFrom(staleS))
        .thresholdsStyle(dashedThresholds())
        .gridPos(pos(8, 14, 8, 8)),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(15)
        .title('Spool depth')
        .datasource({ ...PROMETHEUS })
        .withTarget(prom(`max(${METRICS.spoolDepth}${H})`, { legend: 'spooled events' }))
        .min(0)
        .gridPos(pos(16, 14, 8, 8)),
    )
    .withRow(new RowBuilder('Postmortem (PostgreSQL event store)').id(20).gridPos(pos(0, 22, 24, 1)))
    .withPanel(hostEventsPanel(21, 23))
    .build();
}
