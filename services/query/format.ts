/**
 * Output of `signwatch query`: an aligned table for people (default on a TTY), JSON (an array of the stored
 * events, byte for byte as received), NDJSON (one stored event per line) or CSV (RFC 4180, a header row).
 * Count rows (`--count-by`) use the same four formats, with `hour` as RFC 3339 UTC.
 * The event table fits the terminal width: ID first (to copy into --around), the error message last and cut with
 * "…", the least useful columns left out when even that does not fit. With --around the anchor event is marked:
 * `> ` in the table, an `anchor` column (true) in CSV, `"anchor":true` as the first key of its JSON/NDJSON object
 * (the other events stay byte for byte as received).
 */
import { escapeControl } from '../platform/text.js';
import type { CountKey, CountRow, StoredEvent } from './store.js';

export const OUTPUT_FORMATS = ['table', 'json', 'ndjson', 'csv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const EVENT_COLUMNS = ['time', 'region', 'host', 'type', 'outcome', 'error', 'keychain', 'partitions', 'correlation', 'invocation', 'id'] as const;

/** The cells of one event (partition IDs come from the raw JSON, the rest from stored columns). */
export function eventCells(e: StoredEvent): string[] {
  let partitions = '';
  try {
    const raw = JSON.parse(e.raw) as { partitionIds?: unknown };
    if (Array.isArray(raw.partitionIds)) partitions = raw.partitionIds.map(String).join(' ');
  } catch {
    /* stored raw is always JSON; keep the cell empty otherwise */
  }
  return [
    new Date(e.ts).toISOString(),
    e.region,
    e.host,
    e.type,
    e.outcome ?? '',
    e.errorCode ?? '',
    e.keychain ?? '',
    partitions,
    e.correlationId ?? '',
    e.invocationId ?? '',
    e.id,
  ];
}

function countCells(keys: readonly CountKey[], r: CountRow): string[] {
  return [...keys.map((k) => (k === 'hour' ? new Date(r.hour!).toISOString() : (r[k] ?? ''))), String(r.count)];
}

/** Control characters would let a stored value move the cursor or fake lines in a terminal. */
const printable = escapeControl;

const MAX_CELL = 60;
function cell(s: string): string {
  const p = printable(s);
  return p.length > MAX_CELL ? `${p.slice(0, MAX_CELL - 1)}…` : p;
}

export function table(header: readonly string[], rows: string[][], marks?: boolean[]): string {
  const cells = rows.map((r) => r.map(cell));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: readonly string[], mark: string) =>
    `${mark}${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  const m = marks ? (i: number) => (marks[i] ? '> ' : '  ') : () => '';
  return [line(header.map((h) => h.toUpperCase()), marks ? '  ' : ''), ...cells.map((r, i) => line(r, m(i)))].join('\n') + '\n';
}

/**
 * One CSV field (RFC 4180 quoting). A field a spreadsheet would run as a formula (OWASP "CSV injection": it starts
 * with = + - @, a tab or a CR) is neutralised with a leading ' and quoted; plain numbers ("-3", "+1.5") are left as
 * they are.
 */
export function csvField(s: string): string {
  if (/^[=+\-@\t\r]/.test(s) && !/^[+-]?\d+(\.\d+)?$/.test(s)) return `"'${s.replace(/"/g, '""')}"`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
function csv(header: readonly string[], rows: string[][]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** The event's error message (codesign / unlock / notarize carry one), or ''. */
export function eventMessage(e: StoredEvent): string {
  try {
    const raw = JSON.parse(e.raw) as { error?: { message?: unknown } };
    return typeof raw.error?.message === 'string' ? raw.error.message.replace(/\s+/g, ' ').trim() : '';
  } catch {
    return '';
  }
}

/** The table's columns, in order; `drop` is the order in which they are left out when the terminal is narrow. */
const TABLE_COLUMNS = ['id', 'time', 'region', 'host', 'type', 'outcome', 'error', 'keychain', 'partitions', 'correlation', 'invocation', 'message'] as const;
const TABLE_DROP = ['invocation', 'partitions', 'keychain', 'correlation'] as const;
const MIN_MESSAGE = 20;

function tableCells(e: StoredEvent): string[] {
  const c = eventCells(e);
  return [c[10]!, c[0]!, c[1]!, c[2]!, c[3]!, c[4]!, c[5]!, c[6]!, c[7]!, c[8]!, c[9]!, eventMessage(e)];
}

const cut = (s: string, w: number) => (s.length > w ? (w <= 1 ? '…'.slice(0, w) : `${s.slice(0, w - 1)}…`) : s);

/** The event table, no line wider than `width`: ID first, the message last (cut with …), columns dropped as needed. */
export function eventTable(events: StoredEvent[], width: number, anchorId?: string): string {
  const marks = anchorId ? events.map((e) => e.id === anchorId) : undefined;
  const mark = marks ? 2 : 0;
  const rows = events.map((e) => tableCells(e).map((c, i) => (i === TABLE_COLUMNS.length - 1 ? printable(c) : cell(c)))); // the message is cut to fit below
  const header = TABLE_COLUMNS.map((h) => h.toUpperCase());
  const natural = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  let keep = TABLE_COLUMNS.map((_, i) => i).filter((i) => i === TABLE_COLUMNS.length - 1 || rows.some((r) => r[i] !== '')); // empty optional columns go
  const msg = TABLE_COLUMNS.length - 1;
  const fixed = (cols: number[]) => mark + cols.filter((i) => i !== msg).reduce((s, i) => s + natural[i]! + 2, 0);
  for (const d of TABLE_DROP) {
    if (fixed(keep) + Math.min(natural[msg]!, MIN_MESSAGE) <= width) break;
    keep = keep.filter((i) => i !== TABLE_COLUMNS.indexOf(d));
  }
  const widths = [...natural];
  widths[msg] = Math.max(0, Math.min(natural[msg]!, width - fixed(keep)));
  if (widths[msg] < 'MESSAGE'.length) keep = keep.filter((i) => i !== msg);
  const line = (r: readonly string[], m: string) => cut(`${m}${keep.map((i, k) => (k === keep.length - 1 ? cut(r[i]!, widths[i]!) : cut(r[i]!, widths[i]!).padEnd(widths[i]!))).join('  ')}`.trimEnd(), width);
  const m = marks ? (i: number) => (marks[i] ? '> ' : '  ') : () => '';
  return [line(header, marks ? '  ' : ''), ...rows.map((r, i) => line(r, m(i)))].join('\n') + '\n';
}

/** `{"anchor":true,…}`: the anchor's stored JSON with one key put first (the stored bytes follow unchanged). */
function anchored(e: StoredEvent, anchorId: string | undefined): string {
  return anchorId !== undefined && e.id === anchorId && e.raw.startsWith('{') ? `{"anchor":true,${e.raw.slice(1)}` : e.raw;
}

/** Render events; `anchorId` marks the --around anchor; `width` is the terminal's for the table (default 120). */
export function formatEvents(events: StoredEvent[], format: OutputFormat, anchorId?: string, width = 120): string {
  switch (format) {
    case 'json':
      return events.length ? `[\n${events.map((e) => anchored(e, anchorId)).join(',\n')}\n]\n` : '[]\n';
    case 'ndjson':
      return events.map((e) => `${anchored(e, anchorId)}\n`).join('');
    case 'csv':
      return anchorId === undefined
        ? csv(EVENT_COLUMNS, events.map(eventCells))
        : csv([...EVENT_COLUMNS, 'anchor'], events.map((e) => [...eventCells(e), e.id === anchorId ? 'true' : '']));
    case 'table':
      return eventTable(events, width, anchorId);
  }
}

const FOLLOW_WIDTHS = [24, 6, 14, 9, 8, 28, 0];

/** Header printed once when following (table, csv). */
export function followHeader(format: OutputFormat): string {
  if (format === 'csv') return `${EVENT_COLUMNS.join(',')}\r\n`;
  if (format !== 'table') return '';
  const h = ['TIME', 'REGION', 'HOST', 'TYPE', 'OUTCOME', 'ERROR', 'CORRELATION ID'];
  return `${h.map((x, i) => (FOLLOW_WIDTHS[i] ? x.padEnd(FOLLOW_WIDTHS[i]) : x)).join('  ')}\n`;
}

/** Rows printed while following: no header, fixed widths for a table. */
export function formatFollow(events: StoredEvent[], format: OutputFormat): string {
  switch (format) {
    case 'json':
    case 'ndjson':
      return events.map((e) => `${e.raw}\n`).join('');
    case 'csv':
      return events.map((e) => `${eventCells(e).map(csvField).join(',')}\r\n`).join('');
    case 'table': {
      const widths = FOLLOW_WIDTHS;
      return events
        .map((e) => {
          const c = eventCells(e).map(cell);
          const picked = [c[0]!, c[1]!, c[2]!, c[3]!, c[4]!, c[5]!, `${c[8]} ${c[10]}`];
          return `${picked.map((x, i) => (widths[i] ? x.padEnd(widths[i]) : x)).join('  ').trimEnd()}\n`;
        })
        .join('');
    }
  }
}

export function countJson(keys: readonly CountKey[], r: CountRow): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const k of keys) o[k] = k === 'hour' ? new Date(r.hour!).toISOString() : (r[k] ?? null);
  o.count = r.count;
  return o;
}

export function formatCounts(keys: readonly CountKey[], rows: CountRow[], format: OutputFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(rows.map((r) => countJson(keys, r)), null, 2)}\n`;
    case 'ndjson':
      return rows.map((r) => `${JSON.stringify(countJson(keys, r))}\n`).join('');
    case 'csv':
      return csv([...keys, 'count'], rows.map((r) => countCells(keys, r)));
    case 'table':
      return table([...keys, 'count'], rows.map((r) => countCells(keys, r)));
  }
}
