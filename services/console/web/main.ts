/**
 * The console page: plain TypeScript and the DOM, no framework. The page is two views (login, Fleet) redrawn from
 * one JSON snapshot per server-sent event, so a virtual DOM or a component library would only add weight (and a
 * supply chain) to a page that must load from the console itself, with no CDN, under a CSP without inline script.
 * Text from alerts is set with textContent, never as HTML.
 */
import { getWebInstrumentations, initializeFaro, type Faro } from '@grafana/faro-web-sdk';
import type { WireAlert, WireFleet, WireRegion } from '../wire.js';
import { alertHref, currentPage, onFleet, openPage } from './pages/router.js';

let faro: Faro | undefined;

/**
 * Faro (errors, web vitals, session, fetch timings) reports to this console's own POST /collect, once signed in:
 * /collect needs the session like every data route, and the CSP's connect-src 'self' allows nothing else.
 */
function startFaro(): void {
  if (faro) return;
  faro = initializeFaro({
    url: '/collect',
    requestCompression: false,
    app: { name: 'signwatch-console', version: '0.1.0' },
    instrumentations: getWebInstrumentations({ captureConsole: false }),
  });
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`console: #${id} missing from the page`);
  return el as T;
};

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function tile(r: WireRegion): HTMLElement {
  const word = r.frozen ? 'FROZEN' : 'OPEN';
  const detail = r.frozen
    ? `since ${r.since ?? '?'}: ${r.reasons.map((x) => x.alert).join(', ')}`
    : r.override
      ? `open by override of ${r.override.by} until ${r.override.until} (${r.override.reason})`
      : r.reasons.length > 0
        ? `${r.reasons.length} reason(s) pending`
        : 'releases may ship';
  return el(
    'article',
    { class: `tile ${r.frozen ? 'frozen' : 'open'}`, 'data-region': r.region, 'aria-label': `${r.region}: ${word}` },
    el('h3', {}, r.region),
    el('p', { class: 'state' }, word),
    el('p', { class: 'detail' }, detail),
  );
}

function evidence(label: string, xs: readonly string[]): Node[] {
  return xs.length === 0 ? [] : [el('dt', {}, label), el('dd', {}, xs.join(', '))];
}

function alertItem(a: WireAlert): HTMLElement {
  return el(
    'li',
    { class: `alert ${a.severity}`, 'data-dedup-key': a.dedupKey },
    el('h3', {}, `${a.region} · ${a.alert} (${a.severity})`),
    el('p', {}, a.summary),
    el(
      'dl',
      {},
      el('dt', {}, 'since'),
      el('dd', {}, a.since),
      el('dt', {}, 'value'),
      el('dd', {}, `${a.value} (threshold ${a.threshold})`),
      ...evidence('hosts', a.hosts),
      ...evidence('keychains', a.keychains),
      ...evidence('error codes', a.errorCodes),
      ...evidence('correlation ids', a.correlationIds),
      el('dt', {}, 'dedup key'),
      el('dd', {}, a.dedupKey),
    ),
    el('p', {}, el('a', { href: alertHref(a.dedupKey), class: 'alert-link' }, `Timeline, evidence and links: ${a.region} ${a.alert}`)),
  );
}

function render(f: WireFleet): void {
  $('tiles').replaceChildren(...f.regions.map(tile));
  $('alerts').replaceChildren(...f.alerts.map(alertItem));
  $('no-alerts').hidden = f.alerts.length > 0;
  $('user').textContent = `signed in as ${f.user}`;
  $('logout').hidden = f.user === 'local';
  $('fleet').hidden = currentPage() !== 'fleet';
  $('login').hidden = true;
  document.body.dataset.applied = String(f.applied);
  onFleet(f);
}

function status(text: string): void {
  $('status').textContent = text;
}

let source: EventSource | undefined;

function showLogin(): void {
  source?.close();
  source = undefined;
  $('fleet').hidden = true;
  $('login').hidden = false;
  status('not signed in');
  $<HTMLInputElement>('token').focus();
}

async function connect(): Promise<void> {
  const me = await fetch('/api/me', { credentials: 'same-origin' });
  if (me.status === 401) return showLogin();
  startFaro();
  openPage();
  const t0 = performance.now();
  let first = true;
  source?.close();
  source = new EventSource('/api/events');
  source.addEventListener('fleet', (e) => {
    render(JSON.parse((e as MessageEvent<string>).data) as WireFleet);
    if (first) {
      first = false;
      faro?.api.pushMeasurement({ type: 'console', values: { sse_first_snapshot_ms: performance.now() - t0 } });
    }
    status('live');
    document.body.dataset.live = 'true';
  });
  source.addEventListener('error', () => {
    status('reconnecting…');
    document.body.dataset.live = 'false';
  });
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>('token');
  void fetch('/login', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: input.value }) }).then(async (res) => {
    input.value = '';
    if (!res.ok) {
      $('login-error').textContent = 'That token is not in the console’s token book.';
      return;
    }
    $('login-error').textContent = '';
    await connect();
  });
});

$('logout').addEventListener('click', () => {
  void fetch('/logout', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: '{}' }).then(showLogin);
});

void connect();
