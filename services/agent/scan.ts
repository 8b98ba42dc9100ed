/**
 * The keychain scan (used by the daemon and by `signwatch agent scan`, commands/scan.ts): what is in the
 * keychains, as events.
 *   security list-keychains                    → the search list (heartbeat.searchList, state for exec)
 *   security find-identity -v -p codesigning   → valid signing identities (heartbeat.identities, team IDs)
 *   security find-certificate -a -p <keychain> → one `cert` event per Apple signing certificate (node:crypto X509)
 * and a `heartbeat` carrying the parity fingerprint: wrapper checksum, signing keychain, search list order, team
 * IDs and the secret version, plus `paritySha256` over those five (equal on every host that is set up alike).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentConfig } from './config.js';
import { baseEvent, type WireEvent } from './events.js';
import { readCertificate, SIGNING_KINDS } from './macos/cert.js';
import { parseFindIdentity, parseKeychainList, splitPems, type Identity } from './macos/security.js';
import type { HostState } from './state.js';

export interface ToolOutput {
  code: number;
  stdout: string;
  stderr: string;
  /** The tool was killed because it ran past the timeout. */
  timedOut?: boolean;
  /** The tool could not be started (ENOENT, EACCES…). */
  spawnError?: string;
}

export function runCapture(cmd: string, args: readonly string[], timeoutMs = 15_000): Promise<ToolOutput> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string | null }) | null;
      const code = e ? (typeof e.code === 'number' ? e.code : 127) : 0;
      const out: ToolOutput = { code, stdout: String(stdout ?? ''), stderr: String(stderr ?? '') || (e && typeof e.code === 'string' ? `${cmd}: ${e.code}` : '') };
      if (e?.killed && e.signal) out.timedOut = true;
      if (e && typeof e.code === 'string') out.spawnError = e.code;
      resolve(out);
    });
  });
}

let wrapperHash: string | undefined;

/** sha256 over the agent's compiled code (file names and bytes, sorted): the same build gives the same value. */
export function wrapperSha256(): string {
  if (wrapperHash) return wrapperHash;
  const dir = dirname(fileURLToPath(import.meta.url));
  const h = createHash('sha256');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.js')).sort()) {
    h.update(f).update('\0').update(readFileSync(join(dir, f))).update('\0');
  }
  wrapperHash = h.digest('hex');
  return wrapperHash;
}

export interface HostSnapshot {
  searchList: string[];
  identities: Identity[];
  teamIds: string[];
  certs: WireEvent[];
  problems: string[];
}

export async function snapshotHost(cfg: AgentConfig, now: number, env: NodeJS.ProcessEnv = process.env): Promise<HostSnapshot> {
  const problems: string[] = [];
  const lk = await runCapture('security', ['list-keychains']);
  if (lk.code !== 0) problems.push(`list-keychains: ${lk.stderr.trim() || `exit ${lk.code}`}`);
  const searchList = parseKeychainList(lk.stdout);
  const fi = await runCapture('security', ['find-identity', '-v', '-p', 'codesigning']);
  if (fi.code !== 0) problems.push(`find-identity: ${fi.stderr.trim() || `exit ${fi.code}`}`);
  const identities = parseFindIdentity(fi.stdout).filter((i) => i.valid);
  const certs: WireEvent[] = [];
  const seen = new Set<string>();
  const teams = new Set<string>(identities.flatMap((i) => (i.teamId ? [i.teamId] : [])));
  const keychains = searchList.length ? searchList : cfg.keychain ? [cfg.keychain] : [];
  for (const kc of keychains) {
    const fc = await runCapture('security', ['find-certificate', '-a', '-p', kc]);
    if (fc.code !== 0) problems.push(`find-certificate ${kc}: ${fc.stderr.trim() || `exit ${fc.code}`}`);
    for (const pem of splitPems(fc.stdout)) {
      let info;
      try {
        info = readCertificate(pem);
      } catch (e) {
        problems.push(`find-certificate ${kc}: unreadable certificate (${(e as Error).message})`);
        continue;
      }
      if (!SIGNING_KINDS.includes(info.certKind) || seen.has(`${kc}\0${info.sha1}`)) continue;
      seen.add(`${kc}\0${info.sha1}`);
      const ev = baseEvent(cfg, 'cert', now, env);
      ev.sha1 = info.sha1;
      ev.subject = info.subject.slice(0, 512);
      if (info.teamId) {
        ev.teamId = info.teamId;
        teams.add(info.teamId);
      }
      ev.certKind = info.certKind.slice(0, 128);
      ev.notAfter = info.notAfter;
      ev.keychain = kc.slice(0, 1024);
      certs.push(ev);
    }
  }
  return { searchList, identities, teamIds: [...teams].sort(), certs, problems };
}

export interface SpoolStats {
  depth: number;
  dropped: number;
}

export function paritySha256(p: { wrapperSha256: string; keychain: string; searchList: readonly string[]; teamIds: readonly string[]; secretVersion: string }): string {
  return createHash('sha256')
    .update(JSON.stringify([p.wrapperSha256, p.keychain, p.searchList, [...p.teamIds].sort(), p.secretVersion]))
    .digest('hex');
}

export function heartbeatEvent(cfg: AgentConfig, snap: Pick<HostSnapshot, 'searchList' | 'identities' | 'teamIds'>, spool: SpoolStats | undefined, now: number, env: NodeJS.ProcessEnv = process.env): WireEvent {
  const ev = baseEvent(cfg, 'heartbeat', now, env);
  const keychain = cfg.keychain ?? snap.searchList[0] ?? 'unknown';
  ev.searchList = snap.searchList.slice(0, 64).map((k) => k.slice(0, 1024));
  ev.wrapperSha256 = wrapperSha256();
  ev.secretVersion = cfg.secretVersion;
  ev.teamIds = snap.teamIds.slice(0, 64).map((t) => t.slice(0, 32));
  ev.identities = [...new Set(snap.identities.flatMap((i) => (i.sha1 ? [i.sha1] : [])))].slice(0, 256);
  ev.keychain = keychain.slice(0, 1024);
  if (spool) {
    ev.spoolDepth = spool.depth;
    ev.spoolDropped = spool.dropped;
  }
  ev.paritySha256 = paritySha256({ wrapperSha256: ev.wrapperSha256 as string, keychain, searchList: ev.searchList as string[], teamIds: ev.teamIds as string[], secretVersion: cfg.secretVersion });
  return ev;
}

/** The state the exec wrapper reads (search list, identities), keeping the partition IDs already known. */
export function stateFrom(snap: HostSnapshot, prev: HostState): HostState {
  return {
    searchList: snap.searchList,
    identities: snap.identities.flatMap((i) => (i.sha1 ? [{ sha1: i.sha1, name: i.name }] : [])),
    partitionIds: prev.partitionIds,
  };
}
