/**
 * Transition → PagerDuty Events API v2 event (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/).
 * dedup_key = transition.dedupKey (signwatch/<alert>/<labels>): stable across restarts, shared by trigger and resolve.
 * The routing key is a secret: it is NOT part of the stored event; the channel adds it at send time.
 */
import type { Policy, Severity } from '../engine/policy.js';
import type { Transition } from '../engine/types.js';
import { alertSeverity, dashboardUrl, runbookUrl } from './links.js';

export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';

export interface PagerDutyEvent {
  event_action: 'trigger' | 'resolve';
  dedup_key: string;
  payload?: {
    summary: string;
    source: string;
    severity: PagerDutySeverity;
    timestamp: string;
    component: string;
    group: string;
    class: string;
    custom_details: Record<string, unknown>;
  };
  links?: { href: string; text: string }[];
  client: string;
  client_url: string;
}

const SEVERITY: Record<Severity, PagerDutySeverity> = { critical: 'critical', warning: 'warning', ticket: 'info' };
/** Evidence lists are capped so that an event stays far below PagerDuty's 512 KB limit. */
export const DETAILS_CAP = 50;

/** The page's summary, capped at PagerDuty's 1024 characters; a drill's page says so first (`[drill] …`). */
function summaryOf(t: Transition): string {
  const s = t.drillId !== undefined ? `[drill] ${t.summary}` : t.summary;
  return s.length > 1024 ? `${s.slice(0, 1021)}...` : s;
}

export function pagerDutyEvent(t: Transition, policy: Readonly<Policy>): PagerDutyEvent {
  const region = t.labels.region;
  const dash = dashboardUrl(policy, region);
  const base = { dedup_key: t.dedupKey, client: 'signwatch', client_url: dash };
  if (t.state === 'resolved') return { ...base, event_action: 'resolve' };
  const d = t.details;
  const cap = (xs: string[] | undefined) => (xs ?? []).slice(0, DETAILS_CAP);
  const severity = SEVERITY[alertSeverity(policy, t)];
  return {
    ...base,
    event_action: 'trigger',
    payload: {
      summary: summaryOf(t),
      source: t.labels.host ?? d?.hosts[0] ?? `signwatch/${region ?? 'all'}`,
      severity,
      timestamp: t.at,
      component: t.alert,
      group: region ?? 'all',
      class: t.alert,
      custom_details: {
        alert: t.alert,
        labels: t.labels,
        value: t.value,
        threshold: t.threshold,
        at: t.at,
        hosts: cap(d?.hosts),
        keychains: cap(d?.keychains),
        partition_ids: cap(d?.partitionIds),
        error_codes: cap(d?.errorCodes),
        correlation_ids: cap(d?.correlationIds),
        event_ids: cap(d?.eventIds),
        // the traces behind the page: the events' (agent exec → … → processor) and the span that committed it
        trace_ids: cap(t.traceIds),
        ...(t.traceparent ? { traceparent: t.traceparent } : {}),
        runbook: runbookUrl(policy, t.alert),
        dashboard: dash,
        ...(t.drillId !== undefined ? { drill_id: t.drillId } : {}),
      },
    },
    links: [
      { href: runbookUrl(policy, t.alert), text: `Runbook: ${t.alert}` },
      { href: dash, text: `Grafana: signwatch ${region ?? ''}`.trim() },
    ],
  };
}
