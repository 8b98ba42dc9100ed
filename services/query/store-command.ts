/**
 * `signwatch store import FILE|-`: load NDJSON events (an agent's debug sink, a backfill from old logs) into the
 * store through the wire-contract validation (parseEvent) and the store's dedup by id. Bad lines are reported
 * with their line number on stderr and skipped; progress is shown on stderr when it is a terminal.
 * `signwatch store stats` and `signwatch store sweep` (apply retention now, in small batches) help operators.
 */
import { createReadStream } from 'node:fs';
import { parseEvent } from '../../schemas/events.js';
import { parseDuration } from '../platform/duration.js';
import { lineBatches, parseMaxLineBytes, tooLongReason, DEFAULT_MAX_LINE_BYTES } from '../platform/lines.js';
import { BadLineTally, parseCommandArgs, type CommandModule } from '../platform/cli.js';
import { CodedError, UsageError } from '../platform/errors.js';
import { DEFAULT_STORE } from './open-store.js';
import { openForCommand, resolveStoreSpec } from './query-command.js';
import type { EventStore, StoreInput } from './store.js';

const HELP = `Usage: signwatch store <import|stats|sweep> [options]

  import FILE|-           load NDJSON events (one per line) into the store; '-' reads stdin.
                          Every line goes through the wire-contract validation; bad lines are reported on stderr
                          as "line N: reason" and skipped; events already stored (same id) are not added again.
      --batch N           events per transaction (default 2000)
      --max-line-bytes N  longest line read (default 16MiB): a longer one is reported as bad and skipped
      --strict            exit 1 when any line was rejected (the good lines are still stored)
      --quiet             bad lines summarised by reason, not listed; no progress (the summary is printed)
  stats                   events, oldest/newest event time, schema version
  sweep                   delete events older than the retention now, in small batches
      --retention SPAN    default 30d

Common:
  --store SPEC            sqlite:PATH or postgres://user@host/db[?schema=NAME] (default $SIGNWATCH_STORE,
                          else ${DEFAULT_STORE}); passwords belong in $SIGNWATCH_STORE or $PGPASSWORD, not argv
Exit status: 0 ok, 1 unreadable input or store unavailable (or rejected lines with --strict), 2 bad usage.
`;

const OPTIONS = {
  store: { type: 'string' },
  batch: { type: 'string' },
  strict: { type: 'boolean' },
  quiet: { type: 'boolean' },
  retention: { type: 'string' },
  'max-line-bytes': { type: 'string' },
} as const;

export interface ImportSummary {
  lines: number;
  added: number;
  duplicates: number;
  bad: number;
}

/**
 * Import NDJSON from a readable stream. `onBad(line, reason)` receives each rejected line; `onProgress` is called
 * after each batch. Blank lines are ignored.
 */
export async function importNdjson(
  store: EventStore,
  input: NodeJS.ReadableStream,
  opts: { batch?: number; maxLineBytes?: number; onBad?: (line: number, reason: string) => void; onProgress?: (s: ImportSummary) => void } = {},
): Promise<ImportSummary> {
  const size = opts.batch ?? 2000;
  const s: ImportSummary = { lines: 0, added: 0, duplicates: 0, bad: 0 };
  let batch: StoreInput[] = [];
  const flush = async () => {
    if (!batch.length) return;
    const added = await store.insertBatch(batch);
    s.added += added;
    s.duplicates += batch.length - added;
    batch = [];
    opts.onProgress?.(s);
  };
  const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const lines = lineBatches(input, {
    maxLineBytes,
    onTooLong: (lineNo, n) => {
      s.lines = lineNo;
      s.bad++;
      opts.onBad?.(lineNo, tooLongReason(n, maxLineBytes));
    },
  });
  for await (const chunk of lines) {
    for (const [line, lineNo] of chunk) {
      s.lines = lineNo;
      const text = line.trim();
      if (!text) continue;
      const r = parseEvent(text);
      if (!r.ok) {
        s.bad++;
        opts.onBad?.(lineNo, r.reason);
        continue;
      }
      batch.push({ event: r.event, raw: text });
      if (batch.length >= size) await flush();
    }
  }
  await flush();
  return s;
}

const fmt = (n: number) => n.toLocaleString('en-US');

async function runImport(file: string, v: { store?: string; batch?: string; strict?: boolean; quiet?: boolean; 'max-line-bytes'?: string }): Promise<number> {
  let maxLineBytes: number | undefined;
  try {
    maxLineBytes = parseMaxLineBytes('store import', v['max-line-bytes']);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  let batch = 2000;
  if (v.batch !== undefined) {
    batch = Number(v.batch);
    if (!/^\d+$/.test(v.batch) || batch < 1 || batch > 50_000) throw new UsageError(`signwatch store import: --batch: "${v.batch}" must be an integer from 1 to 50000`);
  }
  const spec = resolveStoreSpec(v.store, 'store import');
  const input = file === '-' ? process.stdin : createReadStream(file);
  const opened = new Promise<void>((resolve, reject) => {
    if (file === '-') return resolve();
    input.once('error', reject);
    (input as ReturnType<typeof createReadStream>).once('open', () => resolve());
  });
  try {
    await opened;
  } catch (e) {
    throw new CodedError('SW_IMPORT_UNREADABLE', `signwatch store import: cannot read ${file}: ${(e as Error).message}`);
  }
  const store = await openForCommand(spec, 'store import', false);
  const tty = process.stderr.isTTY && !v.quiet;
  const started = Date.now();
  const tally = new BadLineTally();
  let summary: ImportSummary;
  try {
    summary = await importNdjson(store, input, {
      batch,
      ...(maxLineBytes !== undefined ? { maxLineBytes } : {}),
      onBad: (line, reason) => (v.quiet ? tally.add(reason) : process.stderr.write(`${tty ? '\r\x1b[K' : ''}line ${line}: ${reason}\n`)),
      onProgress: tty
        ? (s) => process.stderr.write(`\r\x1b[K${fmt(s.lines)} lines: ${fmt(s.added)} new, ${fmt(s.duplicates)} already stored, ${fmt(s.bad)} bad`)
        : undefined,
    });
  } catch (e) {
    if (e instanceof Error && 'retryable' in e) throw new CodedError('SW_IMPORT_STORE', `signwatch store import: ${e.message}`);
    throw new CodedError('SW_IMPORT_UNREADABLE', `signwatch store import: cannot read ${file}: ${(e as Error).message}`);
  } finally {
    await store.close();
  }
  const secs = (Date.now() - started) / 1000;
  const byReason = tally.total > 0 ? `: ${tally.summary()}` : '';
  process.stderr.write(
    `${tty ? '\r\x1b[K' : ''}imported ${file === '-' ? 'stdin' : file}: ${fmt(summary.lines)} lines, ${fmt(summary.added)} new, ${fmt(summary.duplicates)} already stored, ${fmt(summary.bad)} bad${byReason} (${secs.toFixed(1)} s)\n`,
  );
  return v.strict && summary.bad > 0 ? 1 : 0;
}

export async function runStore(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs('store', argv, OPTIONS, HELP, true, ['import', 'stats', 'sweep']);
  if (!parsed) return 0;
  const [sub, ...rest] = parsed.positionals;
  const v = parsed.values;
  if (sub === 'import') {
    if (rest.length !== 1) throw new UsageError("signwatch store import: needs exactly one FILE (or '-' for stdin)\nTry 'signwatch store --help'.");
    return runImport(rest[0]!, v);
  }
  if (sub !== 'stats' && sub !== 'sweep') {
    throw new UsageError(`signwatch store: ${sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`} (import, stats, sweep)\nTry 'signwatch store --help'.`);
  }
  if (rest.length) throw new UsageError(`signwatch store ${sub}: unexpected argument '${rest[0]}'`);
  if (sub === 'stats') {
    const store = await openForCommand(resolveStoreSpec(v.store, 'store stats'), 'store stats', true);
    try {
      const s = await store.stats();
      const t = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
      process.stdout.write(`${JSON.stringify({ kind: store.kind, events: s.events, oldest: t(s.oldestTs), newest: t(s.newestTs), schemaVersion: s.schemaVersion })}\n`);
      return 0;
    } finally {
      await store.close();
    }
  }
  let retentionMs: number | undefined;
  if (v.retention !== undefined) {
    retentionMs = parseDuration(v.retention);
    if (retentionMs === undefined || retentionMs < 60_000) throw new UsageError(`signwatch store sweep: --retention: "${v.retention}" must be a span of at least 1m (e.g. 30d)`);
  }
  const spec = resolveStoreSpec(v.store, 'store sweep');
  const { createStore } = await import('./open-store.js');
  const store = createStore(spec, { mustExist: true, ...(retentionMs !== undefined ? { retentionMs } : {}) });
  try {
    await store.open();
  } catch (e) {
    await store.close();
    throw new CodedError('SW_STORE', `signwatch store sweep: ${(e as Error).message}`);
  }
  try {
    let total = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const n = await store.sweep();
      total += n;
      if (n === 0) break;
    }
    process.stderr.write(`swept ${fmt(total)} events older than ${new Date(Date.now() - store.retentionMs).toISOString()}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

export const command: CommandModule = { run: runStore };
export const run = runStore;
