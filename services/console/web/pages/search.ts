/**
 * The Search page (`/search?FILTERS`): the `signwatch query` filters as a form whose fields are named like the
 * flags, the matching events from the console's event store (GET /api/search), a `count-by` chart drawn as plain
 * SVG (no chart library, nothing inline: the CSP allows neither), and the address of the search to paste in an
 * incident channel (filters only; the token is never in a URL). Free-text filters (host, error, correlation-id)
 * take several values separated by spaces; region, type, outcome and count-by take commas, as on the command line.
 */
import type { WireCountRow, WireEventRow, WireSearch } from '../../pages-wire.js';
import { byId, el, getJson, searchHref, svg } from './dom.js';

interface Field {
  name: string;
  label: string;
  hint: string;
  /** Several values separated by spaces → the parameter repeated. */
  many?: true;
  choices?: string[];
}

const FIELDS: { legend: string; fields: Field[] }[] = [
  {
    legend: 'Time',
    fields: [
      { name: 'since', label: 'Since', hint: 'RFC 3339 or relative: 2026-11-26T02:10Z, 2h, 7d' },
      { name: 'until', label: 'Until', hint: 'exclusive; same forms as since' },
    ],
  },
  {
    legend: 'Filters',
    fields: [
      { name: 'region', label: 'Region', hint: 'HK, JP, KR, SG, US (commas)' },
      { name: 'host', label: 'Host', hint: 'several: separate with spaces', many: true },
      { name: 'type', label: 'Type', hint: 'codesign, unlock, notarize, cert… (commas)' },
      { name: 'outcome', label: 'Outcome', hint: 'ok, fail, … (commas)' },
      { name: 'error', label: 'Error code', hint: 'e.g. errSecInternalComponent; several: spaces', many: true },
      { name: 'keychain', label: 'Keychain', hint: 'a keychain path' },
      { name: 'correlation-id', label: 'Correlation id', hint: 'CI job / pipeline id; several: spaces', many: true },
    ],
  },
  {
    legend: 'Context (like grep -B/-A)',
    fields: [
      { name: 'around', label: 'Around event id', hint: 'an event id from the results' },
      { name: 'before', label: 'Before', hint: 'events (10) or a span (5m)' },
      { name: 'after', label: 'After', hint: 'events (10) or a span (5m)' },
    ],
  },
  {
    legend: 'Results',
    fields: [
      { name: 'count-by', label: 'Count by', hint: 'hour, region, host, type, outcome, error (commas, in order)' },
      { name: 'limit', label: 'Limit', hint: 'at most this many events (default 1000)' },
      { name: 'order', label: 'Order', hint: 'by event time', choices: ['', 'asc', 'desc'] },
    ],
  },
];
const ALL: Field[] = FIELDS.flatMap((g) => g.fields);

function buildForm(): HTMLFormElement {
  const form = el('form', { id: 'search-form', class: 'search-form', 'aria-labelledby': 'search-title' });
  for (const g of FIELDS) {
    const fs = el('fieldset', {}, el('legend', {}, g.legend));
    for (const f of g.fields) {
      const id = `q-${f.name}`;
      const control = f.choices
        ? el('select', { id, name: f.name, 'aria-describedby': `${id}-hint` }, ...f.choices.map((c) => el('option', { value: c }, c || '(default: asc)')))
        : el('input', { id, name: f.name, type: 'text', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': `${id}-hint` });
      fs.append(el('div', { class: 'field' }, el('label', { for: id }, f.label), control, el('small', { id: `${id}-hint` }, f.hint)));
    }
    form.append(fs);
  }
  form.append(el('div', { class: 'actions' }, el('button', { type: 'submit', id: 'search-submit' }, 'Search'), el('button', { type: 'reset', id: 'search-clear' }, 'Clear')));
  return form;
}

/** The form as query parameters, in field order; empty fields left out. */
function formParams(form: HTMLFormElement): URLSearchParams {
  const p = new URLSearchParams();
  for (const f of ALL) {
    const c = form.elements.namedItem(f.name) as HTMLInputElement | HTMLSelectElement | null;
    const v = (c?.value ?? '').trim();
    if (!v) continue;
    if (f.many) for (const x of v.split(/\s+/)) p.append(f.name, x);
    else p.append(f.name, v);
  }
  return p;
}

function fillForm(form: HTMLFormElement, p: URLSearchParams): void {
  for (const f of ALL) {
    const c = form.elements.namedItem(f.name) as HTMLInputElement | HTMLSelectElement | null;
    if (c) c.value = p.getAll(f.name).join(f.many ? ' ' : ',');
  }
}

const PALETTE = ['#1565c0', '#c62828', '#2e7d32', '#ef6c00', '#6a1b9a', '#00838f', '#5d4037', '#ad1457', '#9e9d24', '#37474f'];

/**
 * The count-by chart. With `hour` among the keys: one stacked bar per hour, one colour per combination of the other
 * keys (a legend names them). Without: one horizontal bar per row. A table of the same numbers follows it.
 */
function chart(keys: string[], rows: WireCountRow[]): HTMLElement {
  const fig = el('figure', { id: 'search-chart', class: 'chart' });
  const caption = `Events counted by ${keys.join(', ')}`;
  const W = 860;
  const hourAt = keys.indexOf('hour');
  if (rows.length === 0) {
    fig.append(el('figcaption', {}, `${caption}: no matching events.`));
    return fig;
  }
  const seriesOf = (r: WireCountRow) => r.keys.filter((_, i) => i !== hourAt).join(' ') || 'events';
  const series = [...new Set(rows.map(seriesOf))].sort();
  const color = (s: string) => PALETTE[series.indexOf(s) % PALETTE.length]!;
  let body: SVGElement;
  if (hourAt >= 0) {
    // every hour from the first to the last, empty ones too (a gap is information), at most a month of bars
    const seen = [...new Set(rows.map((r) => r.keys[hourAt]!))].sort();
    const first = Date.parse(seen[0]!);
    const last = Date.parse(seen[seen.length - 1]!);
    const hours = last - first <= 744 * 3_600_000 ? Array.from({ length: (last - first) / 3_600_000 + 1 }, (_, i) => new Date(first + i * 3_600_000).toISOString()) : seen;
    const totals = new Map<string, number>();
    for (const r of rows) totals.set(r.keys[hourAt]!, (totals.get(r.keys[hourAt]!) ?? 0) + r.count);
    const max = Math.max(...totals.values(), 1);
    const H = 200;
    const left = 48;
    const bottom = 40;
    const bw = Math.max(4, Math.min(48, (W - left - 10) / hours.length - 4));
    body = svg('svg', { viewBox: `0 0 ${W} ${H + bottom}`, width: W, height: H + bottom, role: 'img', 'aria-label': `${caption}: ${hours.length} hours, at most ${max} events in one hour` });
    body.append(svg('line', { x1: left, y1: H, x2: W - 5, y2: H, stroke: '#555' }));
    body.append(svg('text', { x: left - 6, y: 12, 'text-anchor': 'end', 'font-size': 11 }, String(max)));
    body.append(svg('text', { x: left - 6, y: H, 'text-anchor': 'end', 'font-size': 11 }, '0'));
    hours.forEach((h, i) => {
      const x = left + 4 + i * (bw + 4);
      let y = H;
      for (const s of series) {
        const n = rows.filter((r) => r.keys[hourAt] === h && seriesOf(r) === s).reduce((a, r) => a + r.count, 0);
        if (n === 0) continue;
        const hgt = (n / max) * (H - 10);
        y -= hgt;
        body.append(svg('rect', { x, y, width: bw, height: hgt, fill: color(s), 'data-hour': h, 'data-series': s, 'data-count': n }, svg('title', {}, `${h} ${s}: ${n}`)));
      }
      if (hours.length <= 24 || i % Math.ceil(hours.length / 24) === 0) {
        body.append(svg('text', { x: x + bw / 2, y: H + 14, 'text-anchor': 'middle', 'font-size': 10 }, h.slice(11, 16)));
      }
    });
    body.append(svg('text', { x: left, y: H + 32, 'font-size': 10 }, `${hours[0]!.slice(0, 10)} … ${hours[hours.length - 1]!.slice(0, 16)}Z (UTC hours)`));
  } else {
    const max = Math.max(...rows.map((r) => r.count), 1);
    const shown = rows.slice(0, 40);
    const rowH = 18;
    const left = 260;
    body = svg('svg', { viewBox: `0 0 ${W} ${shown.length * rowH + 6}`, width: W, height: shown.length * rowH + 6, role: 'img', 'aria-label': `${caption}: ${rows.length} groups` });
    shown.forEach((r, i) => {
      const y = 3 + i * rowH;
      const label = r.keys.join(' ') || '(none)';
      body.append(svg('text', { x: left - 6, y: y + 12, 'text-anchor': 'end', 'font-size': 11 }, label.length > 40 ? `${label.slice(0, 39)}…` : label));
      body.append(svg('rect', { x: left, y, width: Math.max(1, (r.count / max) * (W - left - 60)), height: rowH - 4, fill: color(seriesOf(r)), 'data-count': r.count }, svg('title', {}, `${label}: ${r.count}`)));
      body.append(svg('text', { x: left + (r.count / max) * (W - left - 60) + 4, y: y + 12, 'font-size': 11 }, String(r.count)));
    });
  }
  fig.append(body);
  if (hourAt >= 0 && (series.length > 1 || series[0] !== 'events')) {
    fig.append(el('ul', { class: 'legend' }, ...series.map((s) => el('li', { 'data-color': String(series.indexOf(s) % PALETTE.length) }, s))));
  }
  fig.append(el('figcaption', {}, `${caption} (${rows.reduce((a, r) => a + r.count, 0)} events).`));
  const table = el('table', { class: 'counts' }, el('thead', {}, el('tr', {}, ...keys.map((k) => el('th', { scope: 'col' }, k)), el('th', { scope: 'col' }, 'count'))));
  table.append(el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.keys.map((k) => el('td', {}, k)), el('td', {}, String(r.count))))));
  fig.append(el('details', {}, el('summary', {}, 'The counts as a table'), table));
  return fig;
}

const COLUMNS: [keyof WireEventRow, string][] = [
  ['time', 'time'],
  ['region', 'region'],
  ['host', 'host'],
  ['type', 'type'],
  ['outcome', 'outcome'],
  ['error', 'error'],
  ['keychain', 'keychain'],
  ['correlationId', 'correlation id'],
  ['message', 'message'],
];

function results(events: WireEventRow[]): HTMLElement {
  const head = el('tr', {}, ...COLUMNS.map(([, h]) => el('th', { scope: 'col' }, h)), el('th', { scope: 'col' }, 'id (context)'));
  const rows = events.map((e) =>
    el(
      'tr',
      { 'data-id': e.id, ...(e.anchor ? { class: 'anchor', 'aria-current': 'true' } : {}) },
      ...COLUMNS.map(([k]) => el('td', {}, String(e[k] ?? ''))),
      el('td', {}, el('a', { href: searchHref({ around: e.id, before: '20', after: '20' }), 'aria-label': `events around ${e.id}` }, e.anchor ? `▶ ${e.id}` : e.id)),
    ),
  );
  return el('table', { id: 'search-results', class: 'events' }, el('thead', {}, head), el('tbody', {}, ...rows));
}

let form: HTMLFormElement | undefined;

async function run(qs: string): Promise<void> {
  const out = byId('search-output');
  const st = byId('search-status');
  const err = byId('search-error');
  const link = byId<HTMLInputElement>('search-link');
  link.value = `${location.origin}/search${qs ? `?${qs}` : ''}`;
  err.textContent = '';
  if (!qs) {
    st.textContent = 'Give at least one filter, then Search.';
    out.replaceChildren();
    document.body.dataset.search = 'idle';
    return;
  }
  st.textContent = 'searching…';
  document.body.dataset.search = 'running';
  try {
    const r = await getJson<WireSearch>(`/api/search?${qs}`);
    byId('search-command').textContent = r.command;
    const parts: Node[] = [];
    if (r.counts) parts.push(chart(r.counts.keys, r.counts.rows));
    parts.push(results(r.events));
    out.replaceChildren(...parts);
    st.textContent = r.more ? `${r.events.length} rows shown, more exist (raise limit or narrow the filters)` : `${r.events.length} row${r.events.length === 1 ? '' : 's'}`;
    document.body.dataset.search = 'done';
  } catch (e) {
    out.replaceChildren();
    st.textContent = 'search failed';
    err.textContent = (e as Error).message;
    document.body.dataset.search = 'failed';
  }
}

export function openSearchPage(): void {
  const section = byId('search-page');
  form = buildForm();
  const link = el('input', { id: 'search-link', type: 'text', readonly: '', 'aria-label': 'address of this search (filters only, no token)' });
  const copy = el('button', { type: 'button', id: 'search-copy' }, 'Copy link');
  section.replaceChildren(
    el('h2', { id: 'search-title' }, 'Search'),
    form,
    el('p', { class: 'share' }, el('label', { for: 'search-link' }, 'Link to paste in the incident channel'), link, copy),
    el('p', { class: 'command' }, 'Same query on the command line: ', el('code', { id: 'search-command' })),
    el('p', { id: 'search-status', role: 'status', 'aria-live': 'polite' }),
    el('p', { id: 'search-error', role: 'alert', class: 'error' }),
    el('div', { id: 'search-output' }),
  );
  section.hidden = false;
  copy.addEventListener('click', () => {
    link.select();
    void navigator.clipboard?.writeText(link.value).then(
      () => (copy.textContent = 'Copied'),
      () => (copy.textContent = 'Copy link (select and copy)'),
    );
  });
  const f = form;
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    const qs = formParams(f).toString();
    history.pushState(null, '', `/search${qs ? `?${qs}` : ''}`);
    void run(qs);
  });
  f.addEventListener('reset', () => {
    history.pushState(null, '', '/search');
    setTimeout(() => void run(''), 0);
  });
  window.addEventListener('popstate', () => {
    const p = new URLSearchParams(location.search);
    fillForm(f, p);
    void run(p.toString());
  });
  const p = new URLSearchParams(location.search);
  fillForm(f, p);
  void run(p.toString());
  (f.elements.namedItem('since') as HTMLInputElement).focus();
}
