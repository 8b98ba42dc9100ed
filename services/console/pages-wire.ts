/**
 * What the console server sends its Alert and Search pages (GET /api/alert, /api/alerts, /api/search): plain data,
 * no imports, shared by the server (services/console/routes/) and the browser bundle (services/console/web/pages/).
 */

/** One fire or resolve of an alert, as the alert topic carried it. */
export interface WireTransition {
  state: 'firing' | 'resolved';
  at: string;
  value: number;
  threshold: number;
  severity: string;
  summary: string;
  drillId?: string;
}

/** Evidence gathered over an alert's transitions (de-duplicated, first seen first, capped). */
export interface WireEvidence {
  hosts: string[];
  keychains: string[];
  errorCodes: string[];
  correlationIds: string[];
  eventIds: string[];
  facts: Record<string, string | number>;
}

export interface WireAlertSummary {
  dedupKey: string;
  alert: string;
  region: string;
  /** The other labels (host, sha1…) as `k=v`, comma-separated; '' for a per-region alert. */
  subject: string;
  state: 'firing' | 'resolved';
  /** The last transition's time. */
  at: string;
}

export interface WireAlertPage extends WireAlertSummary {
  labels: Record<string, string>;
  severity: string;
  /** Oldest first; at most the last 200 transitions of this key. */
  timeline: WireTransition[];
  /** Transitions of this key seen since the console started reading (the timeline may hold fewer). */
  transitions: number;
  evidence: WireEvidence;
  /** The PagerDuty dedup key (the transition's dedupKey, services/alerting/pagerduty-event.ts). */
  pagerDutyDedupKey: string;
  links: {
    /** The Search page with the postmortem query for this alert (path + query string, same origin). */
    search: string;
    /** The query as a `signwatch query` command line, to paste into a terminal. */
    command: string;
    /** The Grafana dashboard of the alert's region (or host), over the alert's time range. */
    grafana: string;
  };
}

/** One stored event as the Search page shows it. */
export interface WireEventRow {
  id: string;
  time: string;
  region: string;
  host: string;
  type: string;
  outcome: string;
  error: string;
  keychain: string;
  correlationId: string;
  invocationId: string;
  message: string;
  anchor?: true;
}

export interface WireCountRow {
  /** Key values in the order asked (hour as RFC 3339), then the count. */
  keys: string[];
  count: number;
}

export interface WireSearch {
  /** The query string it answered, normalised (no token ever: tokens do not travel in URLs). */
  query: string;
  /** The same query as a `signwatch query` command line. */
  command: string;
  limit: number;
  events: WireEventRow[];
  /** The limit cut the answer short: more events match. */
  more: boolean;
  counts?: { keys: string[]; rows: WireCountRow[] };
}
