/**
 * The keychain scan (used by the daemon and by `signwatch agent scan`, commands/scan.ts): what is in the
 * keychains, as events.
 *   security list-keychains                    → the search list (heartbeat.searchList, state for exec)
 *   security find-identity -p codesigning      → every signing identity with its trust annotation: the valid ones
 *                                                (heartbeat.identities, team IDs) and the revoked ones
 *                                                (`(CSSMERR_TP_CERT_REVOKED)`: their cert events say revoked: true)
 *   security find-certificate -a -p <keychain> → one `cert` event per Apple signing certificate (node:crypto X509)
 * and a `heartbeat` carrying the parity fingerprint: wrapper checksum, signing keychain, search list order, team
 * IDs and the secret version, plus `paritySha256` over those five (equal on every host that is set up alike), the
 * inventory `certSha1s` (every signing certificate and identity SHA-1 the scan saw: the engine learns that a
 * certificate left the host; sent only when every keychain could be read, a partial list would claim removals that
 * did not happen) and `notaryProfile` (the notarytool keychain profile the host uses).
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
  /** Valid signing identities (no trust annotation). */
  identities: Identity[];
  /** Every identity find-identity listed, valid or not (revoked, expired, not trusted), with its annotation. */
  allIdentities: Identity[];
  teamIds: string[];
  certs: WireEvent[];
  /** Every signing certificate / identity SHA-1 seen; undefined when a keychain could not be read (incomplete). */
  certSha1s?: string[];
  problems: string[];
}

export const REVOKED = 'CSSMERR_TP_CERT_REVOKED';

export async function snapshotHost(cfg: AgentConfig, now: number, env: NodeJS.ProcessEnv = process.env): Promise<HostSnapshot> {
  const problems: string[] = [];
  const lk = await runCapture('security', ['list-keychains']);
  if (lk.code !== 0) problems.push(`list-keychains: ${lk.stderr.trim() || `exit ${lk.code}`}`);
  const searchList = parseKeychainList(lk.stdout);
  // without -v: the listing has every identity with its trust annotation (a revoked one is also annotated with -v,
  // an expired one is left out there), then the valid ones
  const fi = await runCapture('security', ['find-identity', '-p', 'codesigning']);
  if (fi.code !== 0) problems.push(`find-identity: ${fi.stderr.trim() || `exit ${fi.code}`}`);
  const allIdentities = parseFindIdentity(fi.stdout);
  const identities = allIdentities.filter((i) => i.valid);
  const revoked = new Set(allIdentities.flatMap((i) => (i.sha1 && i.trust === REVOKED ? [i.sha1] : [])));
  let complete = lk.code === 0 && fi.code === 0;
  const inventory = new Set(allIdentities.flatMap((i) => (i.sha1 ? [i.sha1] : [])));
  const certs: WireEvent[] = [];
  const seen = new Set<string>();
  const teams = new Set<string>(identities.flatMap((i) => (i.teamId ? [i.teamId] : [])));
  const keychains = searchList.length ? searchList : cfg.keychain ? [cfg.keychain] : [];
  for (const kc of keychains) {
    const fc = await runCapture('security', ['find-certificate', '-a', '-p', kc]);
    if (fc.code !== 0) {
      problems.push(`find-certificate ${kc}: ${fc.stderr.trim() || `exit ${fc.code}`}`);
      complete = false;
    }
    for (const pem of splitPems(fc.stdout)) {
      let info;
      try {
        info = readCertificate(pem);
      } catch (e) {
        problems.push(`find-certificate ${kc}: unreadable certificate (${(e as Error).message})`);
        complete = false;
        continue;
      }
      if (!SIGNING_KINDS.includes(info.certKind) || seen.has(`${kc}\0${info.sha1}`)) continue;
      inventory.add(info.sha1);
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
      if (revoked.has(info.sha1)) ev.revoked = true;
      certs.push(ev);
    }
  }
  const snap: HostSnapshot = { searchList, identities, allIdentities, teamIds: [...teams].sort(), certs, problems };
  if (complete && keychains.length > 0) snap.certSha1s = [...inventory].sort().slice(0, 256);
  return snap;
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

/** What a heartbeat is built from: the latest scan (certSha1s only when it was complete) and the host state. */
export type HeartbeatInput = Pick<HostSnapshot, 'searchList' | 'identities' | 'teamIds'> & { certSha1s?: string[] | undefined; notaryProfile?: string | undefined };

/**
 * The notarytool keychain profile the host uses: `notaryProfile` in the agent config when that key exists,
 * else the `--keychain-profile` last seen by `agent notarize` / `agent exec -- xcrun notarytool` (state.json).
 */
export function notaryProfileOf(cfg: AgentConfig, state: Pick<HostState, 'notaryProfile'>): string | undefined {
  const configured = (cfg as AgentConfig & { notaryProfile?: unknown }).notaryProfile;
  const p = typeof configured === 'string' && configured !== '' ? configured : state.notaryProfile;
  return p ? p.slice(0, 128) : undefined;
}

export function heartbeatEvent(cfg: AgentConfig, snap: HeartbeatInput, spool: SpoolStats | undefined, now: number, env: NodeJS.ProcessEnv = process.env): WireEvent {
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
  if (snap.certSha1s !== undefined) ev.certSha1s = snap.certSha1s.slice(0, 256);
  if (snap.notaryProfile) ev.notaryProfile = snap.notaryProfile.slice(0, 128);
  ev.paritySha256 = paritySha256({ wrapperSha256: ev.wrapperSha256 as string, keychain, searchList: ev.searchList as string[], teamIds: ev.teamIds as string[], secretVersion: cfg.secretVersion });
  return ev;
}

/** The state the exec wrapper reads (search list, identities), keeping the partition IDs already known. */
export function stateFrom(snap: HostSnapshot, prev: HostState): HostState {
  const st: HostState = {
    searchList: snap.searchList,
    // every identity (revoked ones too): a signing call that fails with CSSMERR_TP_CERT_REVOKED must still name it
    identities: snap.allIdentities.flatMap((i) => (i.sha1 ? [{ sha1: i.sha1, name: i.name, ...(i.trust ? { trust: i.trust } : {}) }] : [])),
    partitionIds: prev.partitionIds,
  };
  if (prev.notaryProfile) st.notaryProfile = prev.notaryProfile;
  return st;
}
