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

export interface GetoptResult {
  /** Options in order: the letter and, for an option that takes one, its argument (undefined when missing). */
  options: { opt: string; arg?: string }[];
  /** The arguments after the options (getopt stops at the first non-option, "-" or after "--"; no permutation). */
  operands: string[];
  /** A letter the option string does not know ('?' in getopt): the tool prints its usage and exits 2. */
  unknown: string[];
}

/**
 * BSD getopt(3), as macOS libc runs it for `security`'s subcommands: `-abc` is -a -b -c; an option that takes an
 * argument takes the rest of its word (`-kPASS`, `-skPASS` → -s, -k PASS) or else the next word whatever it looks
 * like (`-k -S` → the password is "-S"); options end at the first word that does not start with '-', at a lone
 * "-", or after "--" (which is consumed). `optstring` is getopt's ("a:c:dD:…", a leading ':' allowed).
 */
export function getopt(args: readonly string[], optstring: string): GetoptResult {
  const spec = optstring.startsWith(':') ? optstring.slice(1) : optstring;
  const takesArg = (c: string): boolean | undefined => {
    if (c === ':') return undefined;
    const i = spec.indexOf(c);
    return i < 0 ? undefined : spec[i + 1] === ':';
  };
  const out: GetoptResult = { options: [], operands: [], unknown: [] };
  let i = 0;
  for (; i < args.length; i++) {
    const word = args[i]!;
    if (word === '--') {
      i++;
      break;
    }
    if (!word.startsWith('-') || word === '-') break;
    for (let j = 1; j < word.length; j++) {
      const c = word[j]!;
      const arg = takesArg(c);
      if (arg === undefined) {
        out.unknown.push(c);
        continue;
      }
      if (!arg) {
        out.options.push({ opt: c });
        continue;
      }
      if (j + 1 < word.length) out.options.push({ opt: c, arg: word.slice(j + 1) });
      else if (i + 1 < args.length) out.options.push({ opt: c, arg: args[++i]! });
      else out.options.push({ opt: c });
      break;
    }
  }
  out.operands = args.slice(i);
  return out;
}

/**
 * getopt option string of `security set-key-partition-list` (Apple's SecurityTool keychain_find.c,
 * keychain_set_key_partition_list): -a -c -D -j -k -l -S -t take an argument; -d -e -r -s -u -v -w do not.
 */
export const SET_KEY_PARTITION_LIST_OPTS = ':a:c:dD:ej:k:l:rsS:t:uvw';

export interface PartitionListArgs {
  partitionIds: string[];
  /** The one operand (security refuses more than one): undefined when none or several were given. */
  keychain?: string;
  /** Whether a -k (the keychain password) was given, in any spelling. Its value is never returned. */
  passwordGiven: boolean;
}

/**
 * `security set-key-partition-list [options] [keychain]` (argv after the subcommand), parsed exactly as security's
 * getopt does: the partition ids (-S, the last one wins) and the keychain, never the -k password whatever its
 * spelling (`-k PW`, `-kPW`, `-sk PW`, `-skPW`, `-k` before or after -S).
 */
export function parseSetKeyPartitionListArgs(args: readonly string[]): PartitionListArgs {
  const g = getopt(args, SET_KEY_PARTITION_LIST_OPTS);
  const out: PartitionListArgs = { partitionIds: [], passwordGiven: false };
  for (const o of g.options) {
    if (o.opt === 'S') out.partitionIds = (o.arg ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');
    else if (o.opt === 'k') out.passwordGiven = true;
  }
  if (g.operands.length === 1 && g.operands[0] !== '') out.keychain = g.operands[0];
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
