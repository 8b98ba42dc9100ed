/**
 * Parsers for `security` output (formats from Apple's SecurityTool source and the real captures; see
 * the research notes macos-tools.md (kept outside this repository) §2). No node:crypto here: the exec wrapper imports this file.
 */
import { statusByText } from './secbase.js';

export interface Identity {
  /** 40 upper-case hex digits when the output carried a real SHA-1; undefined for redacted / truncated hashes. */
  sha1?: string;
  hash: string;
  name: string;
  /** cssmErrorString of the trust result, e.g. CSSMERR_TP_CERT_EXPIRED (only without -v). */
  trust?: string;
  valid: boolean;
  teamId?: string;
}

const IDENTITY_LINE = /^\s*(\d+)\) (\S+) "(.*)"(?: \(([A-Z0-9_]+)\))?$/;
const SHA1 = /^[0-9A-F]{40}$/;
const TEAM_IN_NAME = /\(([A-Z0-9]{10})\)$/;

/** `security find-identity [-v] -p codesigning`: one entry per identity (deduplicated by hash). */
export function parseFindIdentity(text: string): Identity[] {
  const verboseValidOnly = !/^\s*Matching identities\s*$/m.test(text);
  let inValidSection = verboseValidOnly;
  const byHash = new Map<string, Identity>();
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*Valid identities only\s*$/.test(line)) {
      inValidSection = true;
      continue;
    }
    const m = IDENTITY_LINE.exec(line);
    if (!m) continue;
    const hash = m[2] ?? '';
    const name = m[3] ?? '';
    const prev = byHash.get(hash);
    if (prev) {
      prev.valid ||= inValidSection;
      continue;
    }
    const id: Identity = { hash, name, valid: inValidSection && m[4] === undefined };
    if (SHA1.test(hash)) id.sha1 = hash;
    if (m[4] !== undefined) id.trust = m[4];
    const team = TEAM_IN_NAME.exec(name)?.[1];
    if (team !== undefined) id.teamId = team;
    byHash.set(hash, id);
  }
  return [...byHash.values()];
}

/** `security list-keychains` / `default-keychain`: 4 spaces and a quoted path per line. */
export function parseKeychainList(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*"(.*)"\s*$/.exec(line);
    if (m?.[1]) out.push(m[1]);
  }
  return out;
}

export interface SecurityError {
  /** API name as printed, e.g. SecKeychainUnlock. */
  api: string;
  subject?: string;
  text: string;
  code: string;
  osStatus: number | null;
}

/**
 * `security: <API>[ <path>]: <text>` (sec_perror); the text maps back to its OSStatus when it is a SecBase text.
 * Also reads the interactive-mode trailer `<command>: returned <status>`.
 */
export function parseSecurityStderr(text: string): SecurityError | undefined {
  let found: SecurityError | undefined;
  let returned: number | undefined;
  for (const line of text.split(/\r?\n/)) {
    const r = /^[a-z-]+: returned (-?\d+)$/.exec(line);
    if (r) returned = Number(r[1]);
    const m = /^security: (\S+)(?: (.*?))?: (.*)$/.exec(line);
    if (!m || found) continue;
    const human = (m[3] ?? '').trim();
    const sec = statusByText(human);
    found = { api: m[1] ?? '', text: human, code: sec?.name ?? 'unknown', osStatus: sec?.status ?? null };
    if (m[2] !== undefined) found.subject = m[2];
  }
  if (found && found.osStatus === null && returned !== undefined && returned !== 0) found.osStatus = returned;
  return found;
}

/** PEM blocks in `security find-certificate -a -p` output. */
export function splitPems(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

/** `authorizations (1): partition_id` then `description: apple-tool:, apple:, teamid:XXXX` in dump-keychain -a. */
export function parsePartitionIds(dump: string): string[] {
  const lines = dump.split(/\r?\n/);
  const out = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    if (!/authorizations \(\d+\): .*\bpartition_id\b/.test(lines[i] ?? '')) continue;
    for (let j = i + 1; j < Math.min(lines.length, i + 6); j++) {
      const m = /^\s*description: (.*)$/.exec(lines[j] ?? '');
      if (!m) continue;
      for (const id of (m[1] ?? '').split(/,\s*/)) if (id.trim()) out.add(id.trim());
      break;
    }
  }
  return [...out];
}

export interface PartitionListArgs {
  partitionIds: string[];
  keychain?: string;
}

/** `security set-key-partition-list -S ids [-s] [-k password] [keychain]`: the ids and the keychain, never -k. */
export function parseSetKeyPartitionListArgs(args: readonly string[]): PartitionListArgs {
  const withValue = new Set(['-a', '-c', '-D', '-j', '-l', '-S', '-k']);
  const out: PartitionListArgs = { partitionIds: [] };
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '-S') {
      out.partitionIds = (args[++i] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
    } else if (withValue.has(a)) {
      i++;
    } else if (!a.startsWith('-')) {
      positionals.push(a);
    }
  }
  const kc = positionals[positionals.length - 1];
  if (kc !== undefined) out.keychain = kc;
  return out;
}

export interface KeychainInfo {
  /** The keychain name as security printed it (as given on its command line). */
  name: string;
  lockOnSleep: boolean;
  /** Auto-lock after this many seconds of inactivity; null = `no-timeout`. */
  timeoutSec: number | null;
}

/**
 * `security show-keychain-info KC` (on **stderr**, keychain_show_info.c):
 * `Keychain "<name>"[ lock-on-sleep][ use-lock-interval]( no-timeout| timeout=<N>s)`, e.g. the real
 * `Keychain "/Users/Shared/Jenkins/Library/Keychains/login.keychain" lock-on-sleep timeout=300s`.
 */
export function parseKeychainInfo(text: string): KeychainInfo | undefined {
  for (const line of text.split(/\r?\n/)) {
    const m = /^Keychain "(.*)"((?: [a-z-]+)*)(?: timeout=(\d+)s)?\s*$/.exec(line);
    if (!m) continue;
    const flags = (m[2] ?? '').trim().split(/\s+/).filter(Boolean);
    if (m[3] === undefined && !flags.includes('no-timeout')) continue;
    return { name: m[1] ?? '', lockOnSleep: flags.includes('lock-on-sleep'), timeoutSec: m[3] === undefined ? null : Number(m[3]) };
  }
  return undefined;
}
