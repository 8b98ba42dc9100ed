/**
 * Pipeline health: is signwatch itself keeping up — events in and out per second, consumer lag, everything
 * dropped on purpose (invalid, dead-lettered, late, duplicate, expired), PagerDuty deliveries and retries.
 */
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import type { Policy } from '../../services/engine/policy.js';
import { METRICS } from '../../services/platform/metric-names.js';
import { pos, prom, total, signwatchDashboard } from './common.js';
import { PROMETHEUS } from './datasources.js';
import { regionVariable } from './fleet-overview.js';

export const PIPELINE_UID = 'signwatch-pipeline';

const rate = (counter: string, by: string, sel = ''): string => `sum by (${by}) (rate(${total(counter)}${sel}[$__rate_interval]))`;

function ts(id: number, title: string, x: number, y: number, w: number, description?: string): TimeseriesPanel {
  const p = new TimeseriesPanel().id(id).title(title).datasource({ ...PROMETHEUS }).min(0).gridPos(pos(x, y, w, 8));
  if (description) p.description(description);
  return p;
}

export function pipelineHealth(_policy: Readonly<Policy>): Dashboard {
  const RS = '{region=~"$region"}';
  return signwatchDashboard('signwatch / Pipeline health', PIPELINE_UID, ['signwatch', 'pipeline'], 'The processor itself: throughput, consumer lag, dropped events, notification deliveries.')
    .withVariable(regionVariable())
    .withRow(new RowBuilder('Throughput').id(1).gridPos(pos(0, 0, 24, 1)))
    .withPanel(ts(2, 'Events in by region (/s)', 0, 1, 8).unit('reqps').withTarget(prom(rate(METRICS.eventsIn, 'region', RS), { legend: '{{region}}' })))
    .withPanel(ts(3, 'Events in by type (/s)', 8, 1, 8).unit('reqps').withTarget(prom(rate(METRICS.eventsIn, 'type', RS), { legend: '{{type}}' })))
    .withPanel(
      ts(4, 'Out: alert transitions and notifications (/s)', 16, 1, 8, 'What the processor emits: alert transitions by state, and notifier attempts by channel.')
        .unit('reqps')
        .withTarget(prom(rate(METRICS.transitions, 'state'), { refId: 'A', legend: 'transitions {{state}}' }))
        .withTarget(prom(rate(METRICS.notifications, 'channel'), { refId: 'B', legend: 'notifications {{channel}}' })),
    )
    .withPanel(ts(5, 'Consumer lag (messages)', 0, 9, 8).withTarget(prom(`sum by (topic, partition) (${METRICS.consumerLag})`, { legend: '{{topic}}/{{partition}}' })))
    .withPanel(
      ts(7, 'Partitions failing the same batch (times in a row)', 8, 9, 8, 'A partition whose batch at this offset failed and is being retried with backoff; the series goes once it commits past it.').withTarget(
        prom(`max by (topic, partition, offset) (${METRICS.partitionFailures})`, { legend: '{{topic}}/{{partition}} @{{offset}}' }),
      ),
    )
    .withPanel(ts(6, 'Alert transitions by alert and state (/s)', 16, 9, 8).unit('reqps').withTarget(prom(rate(METRICS.transitions, 'alert, state'), { legend: '{{alert}} {{state}}' })))
    .withRow(new RowBuilder('Dropped on purpose').id(10).gridPos(pos(0, 17, 24, 1)))
    .withPanel(ts(11, 'Dead-lettered by reason (/s)', 0, 18, 8).unit('reqps').withTarget(prom(rate(METRICS.deadLettered, 'reason'), { legend: '{{reason}}' })))
    .withPanel(ts(12, 'Invalid by reason (/s)', 8, 18, 8).unit('reqps').withTarget(prom(rate(METRICS.eventsInvalid, 'reason'), { legend: '{{reason}}' })))
    .withPanel(
      ts(13, 'Late, duplicate, expired, future by region (/s)', 16, 18, 8, 'Late: older than the watermark by more than the allowed lateness (stored, never paged). Duplicate: same event id seen again. Future: stamped more than maxFutureSkew ahead of the broker time (dead-lettered; the host\'s clock_skew fires). Rerouted: read from another partition than its region\'s (a producer not keying by region) and forwarded there.')
        .unit('reqps')
        .withTarget(prom(rate(METRICS.eventsLate, 'region', RS), { refId: 'A', legend: 'late {{region}}' }))
        .withTarget(prom(rate(METRICS.eventsDuplicate, 'region', RS), { refId: 'B', legend: 'duplicate {{region}}' }))
        .withTarget(prom(rate(METRICS.eventsExpired, 'region', RS), { refId: 'C', legend: 'expired {{region}}' }))
        .withTarget(prom(rate(METRICS.eventsFuture, 'region', RS), { refId: 'D', legend: 'future {{region}}' }))
        .withTarget(prom(rate(METRICS.eventsRerouted, 'region', RS), { refId: 'E', legend: 'rerouted {{region}}' })),
    )
    .withPanel(
      ts(14, 'Per-host series: hosts tracked, events folded into _other, hosts evicted', 0, 26, 24, 'Host names come from events, so per-host series are bounded by the policy (hostSeries.maxHosts): events of hosts beyond it are counted under host _other; a host silent for hostSeries.evictAfter leaves the per-host series.')
        .withTarget(prom(`max(${METRICS.hostSeriesHosts})`, { refId: 'A', legend: 'hosts tracked' }))
        .withTarget(prom(`sum by (region) (increase(${total(METRICS.hostSeriesFolded)}${RS}[1h]))`, { refId: 'B', legend: 'folded events/h {{region}}' }))
        .withTarget(prom(`sum(increase(${total(METRICS.hostSeriesEvicted)}[1h]))`, { refId: 'C', legend: 'evicted hosts/h' })),
    )
    .withRow(new RowBuilder('Notifications (PagerDuty, tickets, release gate)').id(20).gridPos(pos(0, 34, 24, 1)))
    .withPanel(ts(21, 'Deliveries by channel and outcome (/s)', 0, 35, 12).unit('reqps').withTarget(prom(rate(METRICS.notifications, 'channel, outcome'), { legend: '{{channel}} {{outcome}}' })))
    .withPanel(ts(22, 'Retries by channel (per hour)', 12, 35, 12).withTarget(prom(`sum by (channel) (increase(${total(METRICS.notificationRetries)}[1h]))`, { legend: '{{channel}}' })))
    .build();
}
