/**
 * Draws a dashboard as a static HTML page from real query results — the dashboard's own PromQL run on a real
 * Prometheus and its SQL run on the real PostgreSQL store, expanded as Grafana expands them — laid out on
 * Grafana's 24-column grid, for headless Chromium to screenshot (docs/img/*.png). It is a preview of what the
 * panels show with this data, not Grafana's renderer: panel plugins are approximated (time series, stat, state
 * timeline, table), thresholds and value mappings are read from the dashboard JSON.
 */
import type pg from 'pg';
import { interpolatePromQL, interpolateSQL, multiVariables, type VarValues } from '../src/interpolate.js';
import type { AnyDashboard, AnyPanel, AnyTarget } from '../src/validate.js';
import type { PrometheusServer, PromSeries } from './prometheus-server.js';

export interface RenderOptions {
  prom: PrometheusServer;
  pg?: pg.Client;
  from: number;
  to: number;
  stepS: number;
  rateInterval: string;
  /** Values of the dashboard variables (a repeated row is drawn once per value of its variable). */
  vars: VarValues;
  width?: number;
  note?: string;
}

const COLORS: Record<string, string> = { green: '#73BF69', red: '#F2495C', orange: '#FF9830', yellow: '#FADE2A', purple: '#B877D9', blue: '#5794F2', 'semi-dark-green': '#37872D' };
const PALETTE = ['#7EB26D', '#EAB839', '#6ED0E0', '#EF843C', '#E24D42', '#1F78C1', '#BA43A9', '#705DA0', '#508642', '#CCA300'];
const color = (c: string | undefined): string => (c ? (COLORS[c] ?? c) : '#ccccdc');
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

interface FullPanel extends AnyPanel {
  options?: { colorMode?: string; sortBy?: { displayName: string; desc?: boolean }[] };
  transformations?: { id: string; options?: { excludeByName?: Record<string, boolean>; renameByName?: Record<string, string> } }[];
  fieldConfig?: {
    defaults?: {
      unit?: string;
      decimals?: number;
      thresholds?: { steps: { value: number | null; color: string }[] };
      mappings?: { type: string; options: Record<string, { text?: string; color?: string }> }[];
      custom?: { thresholdsStyle?: { mode: string }; cellOptions?: { type: string } };
    };
    overrides?: { matcher: { id: string; options: string }; properties: { id: string; value: { fixedColor?: string } }[] }[];
  };
}

function fmt(v: number, unit: string | undefined, decimals: number | undefined): string {
  if (!Number.isFinite(v)) return String(v);
  const d = decimals ?? (Math.abs(v) >= 100 || Number.isInteger(v) ? 0 : Math.abs(v) >= 10 ? 1 : 2);
  const n = v.toFixed(d);
  switch (unit) {
    case 'ms':
      return `${n} ms`;
    case 's':
      return v >= 3600 ? `${(v / 3600).toFixed(1)} h` : v >= 120 ? `${(v / 60).toFixed(1)} min` : `${n} s`;
    case 'reqps':
      return `${v.toFixed(v >= 10 ? 1 : 3)}/s`;
    default:
      return n;
  }
}

function stepColor(p: FullPanel, v: number): string {
  const steps = p.fieldConfig?.defaults?.thresholds?.steps ?? [];
  let c = steps[0]?.color ?? 'green';
  for (const s of steps) if (s.value !== null && v >= s.value) c = s.color;
  return color(c);
}

function mapped(p: FullPanel, v: number): { text: string; color: string } | undefined {
  for (const m of p.fieldConfig?.defaults?.mappings ?? []) {
    const r = m.options[String(v)];
    if (r) return { text: r.text ?? String(v), color: color(r.color) };
  }
  return undefined;
}

const legendOf = (fmtStr: string | undefined, metric: Record<string, string>): string =>
  fmtStr ? fmtStr.replace(/\{\{\s*([a-zA-Z_]+)\s*\}\}/g, (_m, k: string) => metric[k] ?? '') : JSON.stringify(metric);

const sub = (text: string, vars: VarValues): string => text.replace(/\$\{?([a-z_]+)\}?/g, (m, k: string) => (vars[k] ? vars[k].join(', ') : m));

interface Series {
  name: string;
  color?: string;
  points: [number, number][];
}

function timeseriesSvg(p: FullPanel, series: Series[], o: RenderOptions, w: number, h: number): string {
  const legendH = Math.min(60, 16 * Math.ceil(series.length / 3));
  const ph = h - legendH - 22;
  const left = 56;
  const pw = w - left - 10;
  const thresholds = p.fieldConfig?.defaults?.custom?.thresholdsStyle?.mode && p.fieldConfig.defaults.custom.thresholdsStyle.mode !== 'off' ? (p.fieldConfig.defaults.thresholds?.steps ?? []).filter((s) => s.value !== null) : [];
  const unit = p.fieldConfig?.defaults?.unit;
  let max = 0;
  for (const s of series) for (const [, v] of s.points) if (Number.isFinite(v)) max = Math.max(max, v);
  for (const t of thresholds) max = Math.max(max, (t.value ?? 0) * 1.15);
  if (max === 0) max = 1;
  max *= 1.08;
  const X = (t: number): number => left + ((t - o.from) / (o.to - o.from)) * pw;
  const Y = (v: number): number => 6 + ph - (v / max) * ph;
  const parts: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    parts.push(`<line x1="${left}" x2="${left + pw}" y1="${Y(v)}" y2="${Y(v)}" stroke="#2c3235"/><text x="${left - 4}" y="${Y(v) + 4}" text-anchor="end">${esc(fmt(v, unit, v < 10 ? 1 : 0))}</text>`);
  }
  const hour = 3_600_000;
  for (let t = Math.ceil(o.from / (30 * 60_000)) * 30 * 60_000; t <= o.to; t += 30 * 60_000) {
    const d = new Date(t);
    parts.push(`<text x="${X(t)}" y="${ph + 20}" text-anchor="middle">${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}</text>`);
    if (t % hour === 0) parts.push(`<line x1="${X(t)}" x2="${X(t)}" y1="6" y2="${6 + ph}" stroke="#2c3235"/>`);
  }
  series.forEach((s, i) => {
    const c = s.color ?? PALETTE[i % PALETTE.length]!;
    const pts = s.points.filter(([, v]) => Number.isFinite(v)).map(([t, v]) => `${X(t).toFixed(1)},${Y(v).toFixed(1)}`);
    if (pts.length) parts.push(`<polyline fill="none" stroke="${c}" stroke-width="1.6" points="${pts.join(' ')}"/>`);
  });
  for (const t of thresholds) parts.push(`<line x1="${left}" x2="${left + pw}" y1="${Y(t.value!)}" y2="${Y(t.value!)}" stroke="${color(t.color)}" stroke-dasharray="6 4" stroke-width="1.4"/>`);
  const legend = series
    .slice(0, 12)
    .map((s, i) => `<span class="lg"><i style="background:${s.color ?? PALETTE[i % PALETTE.length]}"></i>${esc(s.name)}</span>`)
    .join('');
  return `<svg width="${w}" height="${ph + 26}">${parts.join('')}</svg><div class="legend">${legend}</div>`;
}

function statHtml(p: FullPanel, values: { name: string; v: number }[]): string {
  if (values.length === 0) return '<div class="nodata">No data</div>';
  const bg = p.options?.colorMode === 'background';
  const unit = p.fieldConfig?.defaults?.unit;
  const tiles = values.map(({ name, v }) => {
    const m = mapped(p, v);
    const c = m?.color ?? stepColor(p, v);
    const text = m?.text ?? fmt(v, unit, p.fieldConfig?.defaults?.decimals);
    const style = bg ? `background:${c};color:#fff` : `color:${c}`;
    return `<div class="tile" style="${style}">${values.length > 1 ? `<div class="tl">${esc(name)}</div>` : ''}<div class="tv">${esc(text)}</div></div>`;
  });
  return `<div class="tiles">${tiles.join('')}</div>`;
}

function timelineHtml(p: FullPanel, series: Series[], o: RenderOptions, w: number, h: number): string {
  const left = 190;
  const rowH = Math.max(8, Math.min(24, Math.floor(h / Math.max(1, series.length))));
  const barH = rowH - 3;
  const pw = w - left - 10;
  const rows = series.map((s) => {
    const segs: string[] = [];
    const pts = s.points;
    for (let i = 0; i < pts.length; i++) {
      const [t, v] = pts[i]!;
      const t2 = pts[i + 1]?.[0] ?? o.to;
      const m = mapped(p, v);
      const x = ((t - o.from) / (o.to - o.from)) * pw;
      const x2 = ((t2 - o.from) / (o.to - o.from)) * pw;
      segs.push(`<rect x="${left + x}" y="0" width="${Math.max(1, x2 - x + 0.5)}" height="${barH}" fill="${m?.color ?? stepColor(p, v)}" opacity="0.85"/>`);
    }
    return `<svg width="${w}" height="${rowH}" style="display:block"><text x="${left - 6}" y="${barH - 3}" text-anchor="end">${esc(s.name)}</text>${segs.join('')}</svg>`;
  });
  return rows.join('') || '<div class="nodata">No data</div>';
}

function tableHtml(columns: string[], rows: unknown[][], cellColor?: (col: string, v: unknown) => string | undefined): string {
  const cell = (v: unknown): string => {
    if (v instanceof Date) return v.toISOString().slice(5, 19).replace('T', ' ');
    if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(1);
    if (typeof v === 'string') return v;
    return v === null || v === undefined ? '' : JSON.stringify(v);
  };
  const head = columns.map((c) => `<th>${esc(c)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((v, i) => {
      const c = cellColor?.(columns[i]!, v);
      return `<td${c ? ` style="background:${c};color:#fff"` : ''}>${esc(cell(v))}</td>`;
    }).join('')}</tr>`)
    .join('');
  return rows.length ? `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>` : '<div class="nodata">No data</div>';
}

async function renderPanel(p: FullPanel, vars: VarValues, multi: ReadonlySet<string>, o: RenderOptions, w: number, h: number): Promise<string> {
  const targets: AnyTarget[] = p.targets ?? [];
  if (targets.some((t) => t.rawSql !== undefined)) {
    if (!o.pg) return '<div class="nodata">no PostgreSQL</div>';
    const sql = interpolateSQL(targets[0]!.rawSql!, vars, multi, new Date(o.from), new Date(o.to));
    const r = await o.pg.query(sql);
    const cols = r.fields.map((f) => f.name);
    const max = Math.max(1, Math.floor((h - 30) / 21));
    return tableHtml(cols, r.rows.slice(0, max).map((row: Record<string, unknown>) => cols.map((c) => row[c])));
  }
  const results: { t: AnyTarget; series: PromSeries[] }[] = [];
  for (const t of targets) {
    const expr = interpolatePromQL(t.expr ?? '', vars, multi, o.rateInterval);
    results.push({ t, series: t.instant ? await o.prom.query(expr, o.to) : await o.prom.queryRange(expr, o.from, o.to, o.stepS) });
  }
  const overrideColor = (name: string): string | undefined => {
    const ov = p.fieldConfig?.overrides?.find((x) => x.matcher.id === 'byName' && x.matcher.options === name);
    return ov ? color(ov.properties.find((q) => q.id === 'color')?.value.fixedColor) : undefined;
  };
  const series: Series[] = results.flatMap(({ t, series: ss }) =>
    ss.map((s) => {
      const name = legendOf(t.legendFormat, s.metric);
      const pts: [number, number][] = (s.values ?? (s.value ? [s.value] : [])).map(([ts, v]) => [ts * 1000, Number(v)]);
      const c = overrideColor(name);
      return c ? { name, color: c, points: pts } : { name, points: pts };
    }),
  );
  switch (p.type) {
    case 'timeseries':
      return timeseriesSvg(p, series, o, w, h - 26);
    case 'stat':
      return statHtml(p, series.map((s) => ({ name: s.name, v: s.points.at(-1)?.[1] ?? NaN })));
    case 'state-timeline':
      return timelineHtml(p, series, o, w, h - 4);
    case 'table': {
      const rename = p.transformations?.find((x) => x.id === 'organize')?.options?.renameByName ?? {};
      const all = results.flatMap((r) => r.series);
      const labels = [...new Set(all.flatMap((s) => Object.keys(s.metric)))].filter((k) => k !== '__name__');
      const valueCol = rename.Value ?? 'Value';
      let rows = all.map((s) => [...labels.map((l) => s.metric[l] ?? ''), Number(s.value?.[1])]);
      const sort = p.options?.sortBy?.[0];
      rows = rows.sort((a, b) => (Number(a.at(-1)) - Number(b.at(-1))) * (sort?.desc ? -1 : 1));
      const byName = p.fieldConfig?.overrides?.find((x) => x.matcher.id === 'byName' && x.matcher.options === valueCol);
      const colorCells =
        p.fieldConfig?.defaults?.custom?.cellOptions?.type === 'color-background' ||
        (byName?.properties as { id: string; value: { type?: string } }[] | undefined)?.some((q) => q.id === 'custom.cellOptions' && q.value.type === 'color-background') === true;
      const max = Math.max(1, Math.floor((h - 30) / 21));
      return tableHtml([...labels, valueCol], rows.slice(0, max), (col, v) => (colorCells && col === valueCol && typeof v === 'number' ? stepColor(p, v) : undefined));
    }
    default:
      return `<div class="nodata">${esc(p.type)}</div>`;
  }
}

/** Expand repeated rows (one copy per value of the repeat variable), shifting what follows down. */
function layout(d: AnyDashboard, vars: VarValues): { p: FullPanel; vars: VarValues; y: number }[] {
  const top = (d.panels ?? []) as FullPanel[];
  const out: { p: FullPanel; vars: VarValues; y: number }[] = [];
  let shift = 0;
  for (let i = 0; i < top.length; i++) {
    const row = top[i]!;
    if (row.type !== 'row' || !row.repeat) {
      out.push({ p: row, vars, y: (row.gridPos?.y ?? 0) + shift });
      continue;
    }
    let j = i + 1;
    while (j < top.length && top[j]!.type !== 'row') j++;
    const block = top.slice(i, j);
    const y0 = row.gridPos?.y ?? 0;
    const height = (top[j]?.gridPos?.y ?? Math.max(...block.map((b) => (b.gridPos?.y ?? 0) + (b.gridPos?.h ?? 0)))) - y0;
    const values = vars[row.repeat] ?? [];
    values.forEach((v, k) => {
      for (const b of block) out.push({ p: b, vars: { ...vars, [row.repeat!]: [v] }, y: (b.gridPos?.y ?? 0) + shift + k * height });
    });
    shift += (values.length - 1) * height;
    i = j - 1;
  }
  return out;
}

export async function renderDashboardHtml(d: AnyDashboard, o: RenderOptions): Promise<{ html: string; height: number; width: number }> {
  const W = o.width ?? 1500;
  const col = W / 24;
  const unitH = 30;
  const multi = multiVariables(d);
  const items = layout(d, o.vars);
  const header = 64;
  const boxes: string[] = [];
  let bottom = 0;
  for (const { p, vars, y } of items) {
    const g = p.gridPos ?? { x: 0, y: 0, w: 24, h: 8 };
    const left = g.x * col + 4;
    const top = header + y * unitH + 4;
    const w = g.w * col - 8;
    const h = g.h * unitH - 8;
    bottom = Math.max(bottom, top + h + 8);
    const title = esc(sub(p.title ?? '', vars));
    if (p.type === 'row') {
      boxes.push(`<div class="row" style="left:${left}px;top:${top}px;width:${w}px">▾ ${title}</div>`);
      continue;
    }
    const body = await renderPanel(p, vars, multi, o, w - 12, h - 28);
    boxes.push(`<div class="panel" style="left:${left}px;top:${top}px;width:${w}px;height:${h}px"><div class="pt">${title}</div><div class="pb">${body}</div></div>`);
  }
  const declared = new Set((d.templating.list ?? []).map((v) => v.name));
  const varText = Object.entries(o.vars)
    .filter(([k]) => declared.has(k))
    .map(([k, v]) => `${k} = ${v.join(', ')}`)
    .join(' · ');
  const range = `${new Date(o.from).toISOString().slice(0, 16)} → ${new Date(o.to).toISOString().slice(11, 16)} UTC`;
  const html = `<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;background:#111217;color:#ccccdc;font:12px/1.3 Inter,Helvetica,Arial,sans-serif;width:${W}px;height:${bottom}px;position:relative;overflow:hidden}
.hd{position:absolute;left:8px;top:8px;right:8px}.hd b{font-size:17px;color:#fff}.hd span{color:#8e8e8e;margin-left:12px}
.panel{position:absolute;background:#181b1f;border:1px solid #2c3235;border-radius:3px;overflow:hidden}
.pt{font-weight:600;padding:5px 8px;color:#e0e0e8;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}.pb{padding:0 6px}
.row{position:absolute;font-size:14px;font-weight:600;color:#fff;border-bottom:1px solid #2c3235;padding:4px 0}
svg text{fill:#9fa3ad;font-size:10px}.legend{font-size:11px;overflow:hidden}.lg{margin-right:10px;white-space:nowrap}.lg i{display:inline-block;width:10px;height:3px;margin:0 4px 3px 0}
.tiles{display:flex;gap:6px;height:100%}.tile{flex:1;border-radius:3px;display:flex;flex-direction:column;justify-content:center;align-items:center;min-height:60px}
.tv{font-size:26px;font-weight:600}.tl{font-size:12px;opacity:.9}.nodata{color:#8e8e8e;padding:20px;text-align:center}
table{border-collapse:collapse;width:100%;font-size:11px;table-layout:fixed}th{text-align:left;color:#6e9fff;border-bottom:1px solid #2c3235;padding:2px 4px}
td{padding:2px 4px;border-bottom:1px solid #22252b;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
</style></head><body><div class="hd"><b>${esc(d.title ?? '')}</b><span>${esc(varText)}</span><span>${range}</span><div style="color:#8e8e8e;margin-top:4px">${esc(o.note ?? '')}</div></div>${boxes.join('')}</body></html>`;
  return { html, height: bottom, width: W };
}
