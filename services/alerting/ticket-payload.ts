/**
 * The ticket webhook payload (schema "signwatch.ticket.v1", documented in docs/alerting.md) for certificate
 * expiry, and example mappings to Jira's and GitHub's issue APIs. One ticket per certificate:
 * key = signwatch/cert_expiry/<sha1>, sent as the Idempotency-Key header and in the body; receivers upsert by key.
 */
import type { Policy } from '../engine/policy.js';
import type { Transition } from '../engine/types.js';
import { dashboardUrl, runbookUrl } from './links.js';

export interface TicketPayload {
  schema: 'signwatch.ticket.v1';
  /** open: create the ticket (or reopen it) for this key; resolve: close it (certificate replaced). */
  action: 'open' | 'resolve';
  key: string;
  title: string;
  /** Markdown. */
  body: string;
  alert: string;
  labels: Record<string, string>;
  at: string;
  value: number;
  threshold: number;
  hosts: string[];
  links: { runbook: string; dashboard: string };
  /** Trace ids of the events behind it (W3C, 32 hex), when traced. */
  trace_ids?: string[];
  /** W3C traceparent of the processor span that committed the transition. */
  traceparent?: string;
}

export const ticketKey = (t: Transition): string =>
  t.alert === 'cert_expiry' && t.labels.sha1 ? `signwatch/cert_expiry/${t.labels.sha1}` : t.dedupKey;

export function ticketPayload(t: Transition, action: 'open' | 'resolve', policy: Readonly<Policy>): TicketPayload {
  const sha1 = t.labels.sha1 ?? '?';
  const facts = t.details?.facts ?? {};
  const fact = (k: string): string | undefined => (facts[k] === undefined || facts[k] === '' ? undefined : String(facts[k]));
  // the certificate by name, kind and team (cert_expiry's facts); the SHA-1 once, in the body
  const subject = fact('subject') ?? t.labels.subject;
  const kind = fact('certKind');
  const team = fact('teamId');
  const what = [kind, team ? `team ${team}` : undefined].filter(Boolean).join(', ');
  // one day count everywhere: the whole days the rule computed (its value), the same in title, body and summary
  const days = Math.floor(t.value);
  const rb = runbookUrl(policy, t.alert);
  const hosts = (t.details?.hosts ?? []).slice(0, 50);
  const title =
    t.alert === 'cert_expiry'
      ? `Rotate signing certificate "${subject ?? sha1}"${what ? ` (${what})` : ''}: expires in ${days} days`
      : t.summary;
  const body =
    action === 'open'
      ? [
          t.summary,
          '',
          `- Certificate: ${subject ?? '(subject not reported)'}${what ? ` (${what})` : ''}`,
          `- SHA-1: \`${sha1}\``,
          ...(fact('notAfter') ? [`- notAfter: ${fact('notAfter')}`] : []),
          `- Days left: ${days} (ticket when < ${t.threshold})`,
          `- Hosts holding it: ${hosts.length ? hosts.join(', ') : '(none listed)'}`,
          `- Runbook: ${rb}`,
          '',
          `signwatch key: \`${ticketKey(t)}\``,
        ].join('\n')
      : `Certificate ${subject ? `"${subject}" ` : ''}\`${sha1}\` resolved at ${t.at}: ${fact('resolution') ?? 'no host reports it close to expiry any more'}.`;
  return {
    schema: 'signwatch.ticket.v1',
    action,
    key: ticketKey(t),
    title,
    body,
    alert: t.alert,
    labels: t.labels,
    at: t.at,
    value: t.value,
    threshold: t.threshold,
    hosts,
    links: { runbook: rb, dashboard: dashboardUrl(policy, t.labels.region) },
    ...(t.traceIds?.length ? { trace_ids: t.traceIds.slice(0, 50) } : {}),
    ...(t.traceparent ? { traceparent: t.traceparent } : {}),
  };
}

/** Example: Jira Cloud REST v3 `POST /rest/api/3/issue` body. Find an existing ticket with JQL `labels = "<label>"`. */
export function jiraIssue(p: TicketPayload, projectKey: string): unknown {
  return {
    fields: {
      project: { key: projectKey },
      issuetype: { name: 'Task' },
      summary: p.title.slice(0, 255),
      labels: ['signwatch', `signwatch-${p.key.replace(/[^A-Za-z0-9_-]+/g, '-')}`.slice(0, 255)],
      description: {
        type: 'doc',
        version: 1,
        content: p.body.split('\n').map((line) => ({ type: 'paragraph', content: line ? [{ type: 'text', text: line }] : [] })),
      },
    },
  };
}

/** Example: GitHub REST `POST /repos/{owner}/{repo}/issues` body; idempotency: search `"<key>" in:body is:issue`. */
export function githubIssue(p: TicketPayload): unknown {
  return { title: p.title, body: `${p.body}\n\n<!-- ${p.key} -->`, labels: ['signwatch', p.alert] };
}
