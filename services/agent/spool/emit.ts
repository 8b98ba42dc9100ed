/**
 * Where the one-shot commands (exec, unlock, scan, clock, notarize) put their events: the spool by default (the
 * daemon ships it), or an NDJSON sink given with `--sink ndjson:PATH` / `--sink -` (stdout) for debugging and
 * tests. Never throws: a broken spool must not change the result of a signing call. Problems are appended to
 * <dataDir>/agent-errors.log (best effort, 0600, never through a symlink) and returned for the caller to count.
 */
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentConfig } from '../config.js';
import type { WireEvent } from '../events.js';
import { Spool } from './spool.js';
import { appendPrivate, ensurePrivateDir } from '../../platform/files.js';

export type SinkSpec = { kind: 'spool' } | { kind: 'ndjson'; path: string } | { kind: 'stdout' };

export function parseSinkSpec(spec: string | undefined): SinkSpec | undefined {
  if (spec === undefined) return { kind: 'spool' };
  if (spec === '-') return { kind: 'stdout' };
  if (spec.startsWith('ndjson:') && spec.length > 7) {
    const path = spec.slice(7);
    return path === '-' ? { kind: 'stdout' } : { kind: 'ndjson', path };
  }
  return undefined;
}

export interface EmitReport {
  written: number;
  dropped: number;
  errors: string[];
}

export function spoolDir(cfg: AgentConfig): string {
  return join(cfg.dataDir, 'spool');
}

export function emitEvents(cfg: AgentConfig, events: readonly WireEvent[], sink: SinkSpec = { kind: 'spool' }): EmitReport {
  const report: EmitReport = { written: 0, dropped: 0, errors: [] };
  if (events.length === 0) return report;
  try {
    if (sink.kind === 'stdout') {
      writeSync(1, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
      report.written = events.length;
    } else if (sink.kind === 'ndjson') {
      appendPrivate(sink.path, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
      report.written = events.length;
    } else {
      ensurePrivateDir(cfg.dataDir); // refused when group/world-writable or not ours (the error names it)
      const spool = new Spool({ dir: spoolDir(cfg), maxEvents: cfg.spoolMaxEvents });
      const r = spool.appendBatch(events.map((e) => ({ id: e.id, line: JSON.stringify(e) })));
      report.dropped += r.dropped;
      report.written = events.length;
    }
  } catch (e) {
    report.errors.push(`${(e as { code?: string }).code ?? 'error'}: ${(e as Error).message}`);
    logAgentError(cfg, `emit: ${(e as Error).message}`);
  }
  return report;
}

export function logAgentError(cfg: AgentConfig, message: string): void {
  try {
    // never through a symlink, never into a directory other users can write: then there is nowhere to report
    ensurePrivateDir(cfg.dataDir);
    appendPrivate(join(cfg.dataDir, 'agent-errors.log'), `${new Date().toISOString()} pid=${process.pid} ${message}\n`, { strictDir: true });
  } catch {
    /* nowhere left to report; the signing call goes on */
  }
}
