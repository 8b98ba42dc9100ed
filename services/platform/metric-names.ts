/**
 * The pipeline's metrics, in one place: dashboards, generated Prometheus rules and the processor's telemetry all
 * import these names, so they cannot drift. Each alert's own gauges are named in its folder
 * (services/engine/rules/<alert>/index.ts; ALERT_METRICS in rules/index.ts lists them).
 * Convention: signwatch_<name>_<unit>[_total]. Counters are declared without `_total`; the OpenTelemetry
 * Prometheus exporter appends it.
 */
export const METRICS = {
  // every alert (gauges)
  alertFiring: 'signwatch_alert_firing', // {alert, region, severity, ...} 1 while firing
  releaseFrozen: 'signwatch_release_frozen', // {region} 1 while frozen
  // pipeline counters (exported with _total)
  eventsIn: 'signwatch_events_in', // {region, type}
  eventsInvalid: 'signwatch_events_invalid', // {reason}
  eventsDuplicate: 'signwatch_events_duplicate', // {region}
  eventsLate: 'signwatch_events_late', // {region}
  eventsExpired: 'signwatch_events_expired', // {region}
  eventsFuture: 'signwatch_events_future', // {region}
  deadLettered: 'signwatch_dead_lettered', // {reason}
  eventsRerouted: 'signwatch_events_rerouted', // {region} valid events forwarded to their region's partition
  transitions: 'signwatch_alert_transitions', // {alert, state}
  notifications: 'signwatch_notifications', // {channel, outcome}
  notificationRetries: 'signwatch_notification_retries', // {channel}
  // pipeline gauges
  consumerLag: 'signwatch_consumer_lag_messages', // {topic, partition}
  partitionFailures: 'signwatch_partition_batch_failures', // {topic, partition, offset} consecutive failures of one batch
  spoolDepth: 'signwatch_agent_spool_depth_events', // {region, host}
  heartbeatAge: 'signwatch_heartbeat_age_seconds', // {region, host}
  hostsReady: 'signwatch_hosts_ready', // {region} hosts whose last `agent doctor` passed every check
  hostsNotReady: 'signwatch_hosts_not_ready', // {region} hosts whose last `agent doctor` failed a check
  hostReady: 'signwatch_host_ready', // {region, host} 1 when the host's last `agent doctor` passed, 0 when it failed
  hostEvents: 'signwatch_host_events', // {region, host, type, outcome} counter
  hostErrors: 'signwatch_host_codesign_errors', // {region, host, code} counter
  notarizeOutcomes: 'signwatch_notarize_outcomes', // {region, outcome, class} counter
  unlockDuration: 'signwatch_unlock_duration_ms', // {region, host} histogram
  hostSeriesFolded: 'signwatch_host_series_folded', // {region} counter: events of hosts over policy hostSeries.maxHosts, counted under host _other
  hostSeriesHosts: 'signwatch_host_series_hosts', // gauge: hosts with their own series now (≤ hostSeries.maxHosts)
  hostSeriesEvicted: 'signwatch_host_series_evicted', // counter: hosts dropped after hostSeries.evictAfter of silence
  // the revoke-one-certificate drill (services/engine/drill.ts), the region's latest drill
  drillTimeToGreen: 'signwatch_drill_time_to_green_seconds', // {region} once green
  drillPendingHosts: 'signwatch_drill_pending_hosts', // {region} cohort hosts still lacking evidence
} as const;
