/**
 * `signwatch drill status|report`: the drill records of the alert topic (or of `signwatch replay` output) folded into
 * one row per drilled region, and rendered as a table, JSON or Markdown. Pure: no I/O.
 */
import type { DrillLack, DrillRecord, DrillState } from '../engine/drill.js';
import { isDrillRecord } from '../engine/drill.js';

export interface RegionRow {
  region: string;
  state: DrillState;
  /** Hosts of the cohort. */
  hosts: number;
  timeToGreenMs: number | null;
  greenAt: string | null;
  /** The last change (green: the green instant; red: the timeout or the stop). */
  at: string;
  reason: string | null;
  pending: { host: string; lacks: DrillLack[] }[];
}

export interface DrillSummary {
  drillId: string;
  sha1: string;
  startedAt: string;
  deadline: string;
  by: string;
  note: string | null;
  regions: RegionRow[];
}

/** Fold drill records (any order, repeats allowed) into one summary per drill, oldest first. */
export function summarise(records: Iterable<DrillRecord>): DrillSummary[] {
  const latest = new Map<string, DrillRecord>(); // drillId/region → its last record
  const rank: Record<DrillState, number> = { pending: 0, green: 1, red: 1 };
  for (const r of records) {
    const k = `${r.drillId}/${r.region}`;
    const prev = latest.get(k);
    if (!prev || rank[r.state] > rank[prev.state] || (rank[r.state] === rank[prev.state] && Date.parse(r.at) >= Date.parse(prev.at))) latest.set(k, r);
  }
  const drills = new Map<string, DrillSummary>();
  for (const r of latest.values()) {
    let d = drills.get(r.drillId);
    if (!d) drills.set(r.drillId, (d = { drillId: r.drillId, sha1: r.sha1, startedAt: r.startedAt, deadline: r.deadline, by: r.by, note: r.note ?? null, regions: [] }));
    // the regions' copies of one drill start within milliseconds of each other: the drill starts with the first
    if (r.startedAt < d.startedAt) d.startedAt = r.startedAt;
    if (r.deadline < d.deadline) d.deadline = r.deadline;
    d.regions.push({
      region: r.region,
      state: r.state,
      hosts: r.hosts.length,
      timeToGreenMs: r.timeToGreenMs,
      greenAt: r.state === 'green' ? r.at : null,
      at: r.at,
      reason: r.reason ?? null,
      pending: r.pendingHosts.map((host) => ({ host, lacks: r.lacks[host] ?? [] })),
    });
  }
  const out = [...drills.values()];
  for (const d of out) d.regions.sort((a, b) => (a.region < b.region ? -1 : 1));
  return out.sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : a.drillId < b.drillId ? -1 : 1));
}

/** Drill records among parsed alert-topic lines (transitions and hourly aggregates are skipped). */
export function drillRecordsOf(values: Iterable<unknown>): DrillRecord[] {
  const out: DrillRecord[] = [];
  for (const v of values) if (isDrillRecord(v)) out.push(v);
  return out;
}

/** 1h 02m 05s, 23m 12s, 4.5s (ms below a minute keep one decimal). */
export function human(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 100) / 10}s`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}h ${String(m).padStart(2, '0')}m ${sec}s` : `${m}m ${sec}s`;
}
const dur = (ms: number | null): string => (ms === null ? '-' : human(ms));
const short = (sha1: string) => sha1.slice(0, 8);
const pendingText = (r: RegionRow): string => (r.pending.length ? r.pending.map((p) => `${p.host} (${p.lacks.join(', ')})`).join('; ') : '-');

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

const header = (d: DrillSummary): string =>
  `drill ${d.drillId}: certificate ${short(d.sha1)}… started ${d.startedAt} by ${d.by}${d.note ? ` (${d.note})` : ''}; timeout at ${d.deadline}\n`;

/** `drill status`: per region, its state, how long it has run (to `now` while pending), green at, what is missing. */
export function renderStatus(d: DrillSummary, now: number): string {
  const start = Date.parse(d.startedAt);
  const rows = [['REGION', 'STATE', 'ELAPSED', 'GREEN AT', 'HOSTS', 'PENDING (WHAT EACH LACKS)']];
  for (const r of d.regions) {
    const elapsed = r.state === 'pending' ? Math.max(0, now - start) : Date.parse(r.at) - start;
    rows.push([r.region, r.state + (r.reason ? ` (${r.reason})` : ''), dur(elapsed), r.greenAt ?? '-', String(r.hosts), pendingText(r)]);
  }
  return header(d) + table(rows);
}

export interface ReportComparison {
  region: string;
  /** This drill's time to green (null: not green). */
  timeToGreenMs: number | null;
  /** The same region in the drill before this one (null: none, or not green then). */
  previousMs: number | null;
  previousDrillId: string | null;
  deltaMs: number | null;
  /** Every earlier drill's time to green for the region, oldest first. */
  history: { drillId: string; startedAt: string; state: DrillState; timeToGreenMs: number | null }[];
}

export interface DrillReport {
  drill: DrillSummary;
  comparison: ReportComparison[];
  /** The slowest green region and every region that was not green. */
  slowest: string | null;
  notGreen: string[];
}

/** The report of drill `id`, compared with the drills before it; undefined when no record names it. */
export function buildReport(all: readonly DrillSummary[], id: string): DrillReport | undefined {
  const i = all.findIndex((d) => d.drillId === id);
  if (i < 0) return undefined;
  const drill = all[i]!;
  const earlier = all.slice(0, i);
  const comparison = drill.regions.map((r): ReportComparison => {
    const history = earlier.flatMap((e) => e.regions.filter((x) => x.region === r.region).map((x) => ({ drillId: e.drillId, startedAt: e.startedAt, state: x.state, timeToGreenMs: x.timeToGreenMs })));
    const prev = history.at(-1);
    const previousMs = prev?.timeToGreenMs ?? null;
    return {
      region: r.region,
      timeToGreenMs: r.timeToGreenMs,
      previousMs,
      previousDrillId: prev?.drillId ?? null,
      deltaMs: r.timeToGreenMs !== null && previousMs !== null ? r.timeToGreenMs - previousMs : null,
      history,
    };
  });
  const greens = drill.regions.filter((r) => r.timeToGreenMs !== null);
  const slowest = greens.length ? greens.reduce((a, b) => (b.timeToGreenMs! > a.timeToGreenMs! ? b : a)).region : null;
  return { drill, comparison, slowest, notGreen: drill.regions.filter((r) => r.state !== 'green').map((r) => r.region) };
}

const delta = (ms: number | null): string => (ms === null ? '-' : `${ms <= 0 ? '−' : '+'}${dur(Math.abs(ms))}`);

function reportRows(rep: DrillReport): string[][] {
  const rows = [['REGION', 'STATE', 'TIME TO GREEN', 'HOSTS', 'PENDING AT END', 'PREVIOUS', 'CHANGE']];
  rep.drill.regions.forEach((r, i) => {
    const c = rep.comparison[i]!;
    rows.push([r.region, r.state + (r.reason ? ` (${r.reason})` : ''), dur(r.timeToGreenMs), String(r.hosts), pendingText(r), dur(c.previousMs), delta(c.deltaMs)]);
  });
  return rows;
}

function verdict(rep: DrillReport): string {
  const parts = [];
  if (rep.slowest) parts.push(`slowest green region: ${rep.slowest}`);
  parts.push(rep.notGreen.length ? `not green: ${rep.notGreen.join(', ')}` : 'every region green');
  return parts.join('; ');
}

export function renderReportTable(rep: DrillReport): string {
  return `${header(rep.drill)}${table(reportRows(rep))}${verdict(rep)}\n`;
}

export function renderReportMarkdown(rep: DrillReport): string {
  const d = rep.drill;
  const rows = reportRows(rep);
  const md = (r: string[]) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  const lines = [
    `## Drill ${d.drillId}`,
    '',
    `Certificate \`${d.sha1}\` revoked at ${d.startedAt} by ${d.by}${d.note ? ` (${d.note})` : ''}; timeout ${d.deadline}.`,
    '',
    md(rows[0]!),
    md(rows[0]!.map(() => '---')),
    ...rows.slice(1).map(md),
    '',
    `${verdict(rep)}.`,
  ];
  const cols = new Map<string, string>(); // earlier drills, oldest first
  for (const c of rep.comparison) for (const h of c.history) cols.set(h.drillId, h.startedAt);
  if (cols.size) {
    const ids = [...cols.keys()].sort((a, b) => (cols.get(a)! < cols.get(b)! ? -1 : 1));
    lines.push('', '### Earlier drills (time to green)', '', md(['REGION', ...ids.map((id) => cols.get(id)!.slice(0, 10)), 'THIS DRILL']), md(['---', ...ids.map(() => '---'), '---']));
    for (const c of rep.comparison) {
      const cell = (id: string) => {
        const h = c.history.find((x) => x.drillId === id);
        return !h ? '-' : h.state === 'green' ? dur(h.timeToGreenMs) : h.state;
      };
      lines.push(md([c.region, ...ids.map(cell), dur(c.timeToGreenMs)]));
    }
  }
  return lines.join('\n') + '\n';
}
