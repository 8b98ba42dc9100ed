/**
 * Reading the release gate's audit log (the file `gate serve --audit-file` appends to, release-gate.ts): one JSON
 * object per line, `{"action": "override" | "override-cleared", region, by, at, reason?, until?, reasons?, had?}`.
 * Only the end of the file is read (at most MAX_TAIL_BYTES), a torn or foreign line is skipped, and the file is
 * opened without following a symlink. Newest first.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

export interface GateAuditEntry {
  action: string;
  region: string;
  by: string;
  at: string;
  reason?: string;
  until?: string;
  /** The freezing alerts (dedup keys) the override set aside. */
  reasons?: string[];
  /** For override-cleared: whether an override was active. */
  had?: boolean;
  claimedBy?: string;
}

export const MAX_TAIL_BYTES = 1 << 20;

const str = (v: unknown): v is string => typeof v === 'string';

function entryOf(line: string): GateAuditEntry | undefined {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null) return undefined;
  const r = o as Record<string, unknown>;
  if (!str(r.action) || !str(r.region) || !str(r.by) || !str(r.at)) return undefined;
  const e: GateAuditEntry = { action: r.action, region: r.region, by: r.by, at: r.at };
  if (str(r.reason)) e.reason = r.reason;
  if (str(r.until)) e.until = r.until;
  if (Array.isArray(r.reasons)) e.reasons = r.reasons.filter(str);
  if (typeof r.had === 'boolean') e.had = r.had;
  if (str(r.claimedBy)) e.claimedBy = r.claimedBy;
  return e;
}

/** The last `limit` entries of the audit file, newest first; [] when the file does not exist yet. */
export function readAuditTail(path: string, limit: number): GateAuditEntry[] {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  let text: string;
  let partial: boolean;
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - MAX_TAIL_BYTES);
    const buf = Buffer.alloc(size - start);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, start + got);
      if (n === 0) break;
      got += n;
    }
    text = buf.subarray(0, got).toString('utf8');
    partial = start > 0;
  } finally {
    closeSync(fd);
  }
  const lines = text.split('\n');
  if (partial) lines.shift(); // began mid-line
  const out: GateAuditEntry[] = [];
  for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
    const e = lines[i] ? entryOf(lines[i]!) : undefined;
    if (e) out.push(e);
  }
  return out;
}
