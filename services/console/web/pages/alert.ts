/**
 * The Alert page (`/alert?key=DEDUPKEY`): one alert's timeline (every fire and resolve the alert topic carried for
 * its key: the alert plus its region and subject), its evidence (hosts, keychains, error codes, correlation ids,
 * event ids: each a link to the Search page), the PagerDuty dedup key, and links to the postmortem query (the Search
 * page pre-filled) and the Grafana dashboard. Refreshed whenever the fleet snapshot says a transition was applied.
 * Without a key: every alert the console has seen, most recently changed first.
 */
import type { WireAlertPage, WireAlertSummary } from '../../pages-wire.js';
import type { WireFleet } from '../../wire.js';
import { alertHref, byId, el, getJson, searchHref } from './dom.js';

let key: string | null = null;
let lastApplied = -1;
let loading: Promise<void> | undefined;
let again = false;

function evidenceRow(label: string, xs: readonly string[], param: string | null): Node[] {
  if (xs.length === 0) return [];
  const items = xs.map((x) => el('li', {}, param ? el('a', { href: searchHref(param === 'around' ? { around: x, before: '20', after: '20' } : { [param]: x, since: '7d' }) }, x) : el('code', {}, x)));
  return [el('dt', {}, label), el('dd', {}, el('ul', { class: 'inline' }, ...items))];
}

function render(a: WireAlertPage): void {
  const word = a.state === 'firing' ? 'FIRING' : 'RESOLVED';
  const subject = a.subject ? ` (${a.subject})` : '';
  const facts = Object.entries(a.evidence.facts);
  byId('alert-page').replaceChildren(
    el('h2', { id: 'alert-title' }, `${a.region} · ${a.alert}${subject}`),
    el('p', { class: `alert-state ${a.state}`, id: 'alert-state' }, `${word} since ${a.at} (${a.severity})`),
    el(
      'dl',
      { class: 'alert-keys' },
      el('dt', {}, 'PagerDuty dedup key'),
      el('dd', {}, el('code', { id: 'alert-dedup-key' }, a.pagerDutyDedupKey)),
      el('dt', {}, 'labels'),
      el('dd', {}, Object.entries(a.labels).map(([k, v]) => `${k}=${v}`).join(', ')),
    ),
    el('h3', {}, 'Links'),
    el(
      'ul',
      { class: 'alert-links' },
      el('li', {}, el('a', { id: 'alert-search-link', href: a.links.search }, 'Postmortem query (Search page)'), ' ', el('code', { id: 'alert-command' }, a.links.command)),
      el('li', {}, el('a', { id: 'alert-grafana-link', href: a.links.grafana, rel: 'noopener noreferrer', target: '_blank' }, 'Grafana dashboard'), ' ', el('small', {}, a.links.grafana)),
    ),
    el('h3', {}, `Timeline (${a.transitions} transition${a.transitions === 1 ? '' : 's'})`),
    el(
      'ol',
      { id: 'alert-timeline', class: 'timeline' },
      ...a.timeline.map((t) =>
        el(
          'li',
          { class: t.state, 'data-state': t.state },
          el('time', { datetime: t.at }, t.at),
          ' ',
          el('strong', {}, t.state === 'firing' ? 'FIRED' : 'RESOLVED'),
          ` ${t.value} (threshold ${t.threshold})${t.drillId ? ` [drill ${t.drillId}]` : ''}: ${t.summary}`,
        ),
      ),
    ),
    el('h3', {}, 'Evidence'),
    el(
      'dl',
      { id: 'alert-evidence', class: 'evidence' },
      ...evidenceRow('hosts', a.evidence.hosts, 'host'),
      ...evidenceRow('keychains', a.evidence.keychains, 'keychain'),
      ...evidenceRow('error codes', a.evidence.errorCodes, 'error'),
      ...evidenceRow('correlation ids', a.evidence.correlationIds, 'correlation-id'),
      ...evidenceRow('event ids', a.evidence.eventIds, 'around'),
      ...(facts.length ? [el('dt', {}, 'facts'), el('dd', {}, facts.map(([k, v]) => `${k}: ${v}`).join(', '))] : []),
    ),
    el('p', {}, el('a', { href: '/alert' }, 'All alerts')),
  );
  document.body.dataset.alertState = a.state;
  document.body.dataset.alertTransitions = String(a.transitions);
}

function renderList(alerts: WireAlertSummary[]): void {
  byId('alert-page').replaceChildren(
    el('h2', { id: 'alert-title' }, 'Alerts'),
    alerts.length === 0
      ? el('p', {}, 'No transition on the alert topic yet.')
      : el('ul', { id: 'alert-list', class: 'alert-list' }, ...alerts.map((a) => el('li', {}, el('a', { href: alertHref(a.dedupKey) }, `${a.region} · ${a.alert}${a.subject ? ` (${a.subject})` : ''}`), ` ${a.state === 'firing' ? 'FIRING' : 'RESOLVED'} since ${a.at}`))),
  );
  document.body.dataset.alertState = 'list';
}

async function load(): Promise<void> {
  try {
    if (key === null) renderList((await getJson<{ alerts: WireAlertSummary[] }>('/api/alerts')).alerts);
    else render(await getJson<WireAlertPage>(`/api/alert?${new URLSearchParams({ key }).toString()}`));
  } catch (e) {
    byId('alert-page').replaceChildren(el('h2', { id: 'alert-title' }, 'Alert'), el('p', { role: 'alert', class: 'error' }, (e as Error).message), el('p', {}, el('a', { href: '/alert' }, 'All alerts')));
    document.body.dataset.alertState = 'missing';
  }
}

/** One load at a time; a change during a load asks for one more. */
function refresh(): void {
  if (loading) {
    again = true;
    return;
  }
  loading = load().finally(() => {
    loading = undefined;
    if (again) {
      again = false;
      refresh();
    }
  });
}

export function openAlertPage(): void {
  key = new URLSearchParams(location.search).get('key');
  byId('alert-page').hidden = false;
  refresh();
}

export function alertOnFleet(f: WireFleet): void {
  if (f.applied === lastApplied) return;
  lastApplied = f.applied;
  refresh();
}
