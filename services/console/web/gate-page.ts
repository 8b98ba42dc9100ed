/**
 * The Gate page (/gate): every region's state and reasons as `signwatch gate check` sees them, the override form
 * (region, reason, TTL up to the policy's maximum; the person is whoever is logged in: the console forwards their
 * own token to gate serve, which names them from its token book) and the gate's audit trail. Built here, mounted
 * by main.ts with one call; text from the gate reaches the page through textContent only.
 */
interface GateRegion {
  region: string;
  frozen: boolean;
  since: string | null;
  reasons: { alert: string; dedupKey: string; since: string; summary: string; value: number; threshold: number }[];
  override: { by: string; reason: string; at: string; until: string } | null;
  check: string;
}

interface GateView {
  user: string;
  source: 'gate' | 'console';
  gateUrl: string | null;
  canOverride: boolean;
  cannotOverride: string | null;
  maxOverrideTtlMs: number;
  maxOverrideTtl: string;
  regions: GateRegion[];
}

interface AuditEntry {
  action: string;
  region: string;
  by: string;
  at: string;
  reason?: string;
  until?: string;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

const REGIONS = ['HK', 'JP', 'KR', 'SG', 'US'];

function ttlText(entry: AuditEntry): string {
  if (!entry.until) return '';
  const ms = Date.parse(entry.until) - Date.parse(entry.at);
  if (!Number.isFinite(ms)) return '';
  const m = Math.round(ms / 60_000);
  return m % 60 === 0 ? `${m / 60} h` : m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m} min`;
}

export interface GatePage {
  /** Show (true) or hide the page; main.ts calls it on every route change. */
  show(visible: boolean): void;
  /** The fleet changed (a transition arrived): refresh if visible. */
  changed(): void;
}

export function mountGate(main: HTMLElement): GatePage {

  const regionSelect = el('select', { id: 'gate-region', name: 'region', required: '' }, ...REGIONS.map((r) => el('option', { value: r }, r)));
  const reason = el('input', { id: 'gate-reason', name: 'reason', type: 'text', maxlength: '500', required: '', autocomplete: 'off' });
  const ttl = el('input', { id: 'gate-ttl', name: 'ttl', type: 'text', value: '1h', required: '', pattern: '\\d+(ms|s|m|h|d)', 'aria-describedby': 'gate-ttl-hint', autocomplete: 'off' });
  const ttlHint = el('span', { id: 'gate-ttl-hint', class: 'hint' }, 'e.g. 30m, 1h');
  const submit = el('button', { id: 'gate-submit', type: 'submit' }, 'Override');
  const clear = el('button', { id: 'gate-clear', type: 'button' }, 'Remove override');
  const result = el('p', { id: 'gate-result', role: 'status', 'aria-live': 'polite' });
  const error = el('p', { id: 'gate-error', role: 'alert' });
  const cannot = el('p', { id: 'gate-cannot' });
  const fieldset = el(
    'fieldset',
    {},
    el('legend', {}, 'Override a frozen region'),
    el('label', { for: 'gate-region' }, 'Region'),
    regionSelect,
    el('label', { for: 'gate-reason' }, 'Reason'),
    reason,
    el('label', { for: 'gate-ttl' }, 'For how long (TTL)'),
    ttl,
    ttlHint,
    el('p', { class: 'buttons' }, submit, ' ', clear),
  );
  const form = el('form', { id: 'gate-form', 'aria-labelledby': 'gate-form-title' }, el('h3', { id: 'gate-form-title' }, 'Override'), cannot, fieldset, result, error);
  const source = el('p', { id: 'gate-source' });
  const list = el('div', { id: 'gate-regions', class: 'gate-regions' });
  const auditNote = el('p', { id: 'gate-audit-note' });
  const auditBody = el('tbody', { id: 'gate-audit-rows' });
  const audit = el(
    'table',
    { id: 'gate-audit', class: 'audit' },
    el('caption', {}, el('h3', {}, 'Audit trail (newest first)')),
    el('thead', {}, el('tr', {}, ...['when', 'who', 'what', 'region', 'reason', 'TTL'].map((h) => el('th', { scope: 'col' }, h)))),
    auditBody,
  );
  const section = el(
    'section',
    { id: 'gate', 'aria-labelledby': 'gate-title', hidden: '' },
    el('h2', { id: 'gate-title' }, 'Release gate'),
    source,
    list,
    form,
    auditNote,
    audit,
  );
  main.append(section);

  let visible = false;
  let pending: ReturnType<typeof setTimeout> | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;

  const regionCard = (r: GateRegion): HTMLElement => {
    const word = r.frozen ? 'FROZEN' : r.override ? 'OPEN by override' : 'OPEN';
    const card = el(
      'article',
      { class: `gate-region ${r.frozen ? 'frozen' : 'open'}${r.override ? ' overridden' : ''}`, 'data-gate-region': r.region, 'aria-label': `${r.region}: ${word}` },
      el('h3', {}, r.region),
      el('p', { class: 'state' }, word),
    );
    if (r.override) card.append(el('p', { class: 'override' }, `by ${r.override.by} until ${r.override.until}: ${r.override.reason}`));
    if (r.reasons.length === 0) card.append(el('p', { class: 'detail' }, 'no freezing alert'));
    else
      card.append(
        el('p', { class: 'detail' }, r.frozen ? `frozen since ${r.since ?? '?'} because of:` : `${r.reasons.length} reason(s) set aside by the override:`),
        el('ul', { class: 'reasons' }, ...r.reasons.map((x) => el('li', {}, `${x.dedupKey}: ${x.summary} (value ${x.value}, threshold ${x.threshold})`))),
      );
    card.append(el('details', {}, el('summary', {}, `signwatch gate check --region ${r.region}`), el('pre', {}, r.check)));
    return card;
  };

  const renderAudit = async () => {
    const res = await fetch('/api/gate/audit', { credentials: 'same-origin' });
    const body = (await res.json()) as { enabled?: boolean; entries?: AuditEntry[]; why?: string | null; message?: string };
    if (!res.ok) {
      auditNote.textContent = `The audit trail cannot be read: ${body.message ?? res.status}`;
      return;
    }
    auditNote.textContent = body.why ?? (body.enabled ? '' : 'The release gate keeps no audit file (gate serve --audit-file FILE).');
    auditBody.replaceChildren(
      ...(body.entries ?? []).map((e) =>
        el('tr', {}, el('td', {}, e.at), el('td', {}, e.by), el('td', {}, e.action), el('td', {}, e.region), el('td', {}, e.reason ?? ''), el('td', {}, ttlText(e))),
      ),
    );
  };

  const refresh = async () => {
    const res = await fetch('/api/gate', { credentials: 'same-origin' });
    const body = (await res.json()) as GateView & { message?: string };
    if (!res.ok) {
      source.textContent = `The release gate cannot be asked: ${body.message ?? res.status}`;
      document.body.dataset.gate = 'error';
      return;
    }
    source.textContent =
      body.source === 'gate'
        ? `What signwatch gate check sees, from the release gate at ${body.gateUrl ?? '?'}; overrides act as ${body.user}.`
        : 'The console’s own view of the alert topic (no release gate configured: read-only).';
    list.replaceChildren(...body.regions.map(regionCard));
    ttlHint.textContent = `e.g. 30m, 1h; at most ${body.maxOverrideTtl}`;
    fieldset.disabled = !body.canOverride;
    cannot.textContent = body.cannotOverride ?? '';
    await renderAudit();
    document.body.dataset.gate = 'ready';
  };

  const act = async (path: string, payload: Record<string, string>) => {
    error.textContent = '';
    result.textContent = 'sending…';
    const res = await fetch(path, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
    const body = (await res.json()) as { region?: string; message?: string; frozen?: boolean; override?: { until: string } | null };
    if (!res.ok) {
      result.textContent = '';
      error.textContent = body.message ?? `HTTP ${res.status}`;
    } else {
      result.textContent = body.override ? `${body.region ?? ''} is open by your override until ${body.override.until}.` : `${body.region ?? ''} is ${body.frozen ? 'FROZEN' : 'OPEN'}.`;
      if (path.endsWith('/override')) reason.value = '';
    }
    await refresh();
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void act('/api/gate/override', { region: regionSelect.value, reason: reason.value, ttl: ttl.value.trim() }).catch((x: unknown) => (error.textContent = String(x)));
  });
  clear.addEventListener('click', () => void act('/api/gate/clear', { region: regionSelect.value }).catch((x: unknown) => (error.textContent = String(x))));

  return {
    show(v: boolean) {
      visible = v;
      section.hidden = !v;
      if (timer) clearInterval(timer);
      timer = undefined;
      if (v) {
        void refresh().catch((x: unknown) => (source.textContent = String(x)));
        // overrides expire on their own: look again now and then
        timer = setInterval(() => void refresh().catch(() => undefined), 10_000);
      }
    },
    changed() {
      if (!visible || pending) return;
      pending = setTimeout(() => {
        pending = undefined;
        void refresh().catch(() => undefined);
      }, 300);
    },
  };
}
