/**
 * The Alert page's API, from the alert timelines the console keeps (services/console/history.ts):
 *   GET /api/alerts             every alert key seen on the alert topic, most recently changed first
 *   GET /api/alert?key=DEDUPKEY one alert's timeline (fire/resolve), evidence, PagerDuty dedup key, and its links:
 *                               the postmortem query (the Search page pre-filled) and the Grafana dashboard
 * The postmortem query of an alert: its region (and host, for a per-host alert), its error codes, from one hour
 * before the latest episode fired (the rules' trailing window) to ten minutes after it resolved (open-ended while
 * it fires). The dashboard: `signwatch-host` for a per-host alert, else `signwatch-region` (dashboards/json/), with
 * `var-region`/`var-host` and the same time range, under `--grafana-url` (default: the policy's links.grafanaBase).
 */
import type { FastifyInstance } from 'fastify';
import { sendError } from '../../platform/http.js';
import { DASHBOARD_UID } from '../../alerting/links.js';
import type { AlertHistory, AlertRecord } from '../history.js';
import { subjectOf } from '../history.js';
import type { WireAlertPage } from '../pages-wire.js';
import { queryCommand } from './search.js';

export const HOST_DASHBOARD_UID = 'signwatch-host';
const LOOKBACK_MS = 3_600_000;
const AFTER_MS = 600_000;

/** The latest episode: from the firing that began it to the resolve that ended it (undefined while firing). */
export function latestEpisode(r: AlertRecord): { start: string; end?: string } {
  const tl = r.timeline;
  let end: string | undefined;
  let i = tl.length - 1;
  if (tl[i]?.state === 'resolved') {
    end = tl[i]!.at;
    while (i >= 0 && tl[i]!.state === 'resolved') i--;
  }
  let start = tl[Math.max(i, 0)]!.at;
  while (i >= 0 && tl[i]!.state === 'firing') start = tl[i--]!.at;
  return end === undefined ? { start } : { start, end };
}

export function postmortemQuery(r: AlertRecord): URLSearchParams {
  const ep = latestEpisode(r);
  const p = new URLSearchParams();
  p.set('since', new Date(Date.parse(ep.start) - LOOKBACK_MS).toISOString());
  if (ep.end !== undefined) p.set('until', new Date(Date.parse(ep.end) + AFTER_MS).toISOString());
  if (r.labels.region) p.set('region', r.labels.region);
  if (r.labels.host) p.append('host', r.labels.host);
  for (const code of r.evidence.errorCodes.slice(0, 10)) p.append('error', code);
  return p;
}

export function grafanaLink(base: string, r: AlertRecord): string {
  const ep = latestEpisode(r);
  const uid = r.labels.host ? HOST_DASHBOARD_UID : DASHBOARD_UID;
  const p = new URLSearchParams();
  if (r.labels.region) p.set('var-region', r.labels.region);
  if (r.labels.host) p.set('var-host', r.labels.host);
  p.set('from', String(Date.parse(ep.start) - LOOKBACK_MS));
  p.set('to', ep.end === undefined ? 'now' : String(Date.parse(ep.end) + AFTER_MS));
  return `${base.replace(/\/+$/, '')}/d/${uid}/signwatch?${p.toString()}`;
}

export function alertPage(r: AlertRecord, grafanaBase: string): WireAlertPage {
  const last = r.timeline[r.timeline.length - 1]!;
  const pm = postmortemQuery(r);
  return {
    dedupKey: r.dedupKey,
    alert: r.alert,
    region: r.labels.region ?? '',
    subject: subjectOf(r.labels),
    state: last.state,
    at: last.at,
    labels: r.labels,
    severity: r.severity,
    timeline: r.timeline,
    transitions: r.transitions,
    evidence: r.evidence,
    pagerDutyDedupKey: r.dedupKey,
    links: { search: `/search?${pm.toString()}`, command: queryCommand(pm), grafana: grafanaLink(grafanaBase, r) },
  };
}

export interface AlertRouteOptions {
  history: AlertHistory;
  /** Grafana's base URL (http(s)://host:port[/path]). */
  grafanaUrl?: string | undefined;
}

export function registerAlertRoutes(app: FastifyInstance, o: AlertRouteOptions): void {
  const base = o.grafanaUrl ?? 'http://127.0.0.1:3000';
  app.get('/api/alerts', (_req, reply) => reply.header('cache-control', 'no-store').send({ alerts: o.history.list() }));
  app.get('/api/alert', (req, reply) => {
    const key = (req.query as Record<string, unknown> | undefined)?.key;
    if (typeof key !== 'string' || key === '' || key.length > 1024) return sendError(reply, 'SW_CONSOLE_BAD_REQUEST', 'console: /api/alert: key: give one dedup key (?key=signwatch/ALERT/region=HK)', { key: 'key' });
    const r = o.history.get(key);
    if (!r) return sendError(reply, 'SW_CONSOLE_NOT_FOUND', 'console: /api/alert: no transition with this dedup key on the alert topic', { key: 'key' });
    return reply.header('cache-control', 'no-store').send(alertPage(r, base));
  });
}
