/**
 * What the scanner learnt about the host, cached for the exec wrapper so that a signing call never runs extra
 * tools: the keychain search list, the identities (SHA-1 + name) and the partition IDs last set per keychain.
 * Written atomically (temp file + rename); a missing or unreadable file is an empty state, never an error.
 */
import { readFileSync, renameSync } from 'node:fs';
import { ensurePrivateDir, writePrivate } from '../platform/files.js';
import { join } from 'node:path';

export interface HostState {
  searchList: string[];
  /** trust: find-identity's annotation (CSSMERR_TP_CERT_REVOKED…) for an identity that is not valid. */
  identities: { sha1: string; name: string; trust?: string }[];
  partitionIds: Record<string, string[]>;
  /** The notarytool `--keychain-profile` last used on this host (heartbeat notaryProfile). */
  notaryProfile?: string;
  updatedAt?: string;
}

export function statePath(dataDir: string): string {
  return join(dataDir, 'state.json');
}

/**
 * Keychain path → partition IDs, as a null-prototype map: a path is user input (`--keychain toString`,
 * `--keychain __proto__`) and must never find or replace an Object.prototype member. Only arrays of strings are kept.
 */
function partitionMap(from: unknown): Record<string, string[]> {
  const m = Object.create(null) as Record<string, string[]>;
  if (from && typeof from === 'object' && !Array.isArray(from)) {
    for (const [k, v] of Object.entries(from)) if (Array.isArray(v)) m[k] = v.filter((x): x is string => typeof x === 'string');
  }
  return m;
}

/** The partition IDs recorded for a keychain path ([] when none): own entries only. */
export function partitionIdsOf(state: HostState, keychain: string): string[] {
  return Object.hasOwn(state.partitionIds, keychain) ? (state.partitionIds[keychain] ?? []) : [];
}

export function readState(dataDir: string): HostState {
  try {
    const j = JSON.parse(readFileSync(statePath(dataDir), 'utf8')) as Partial<HostState>;
    return {
      searchList: Array.isArray(j.searchList) ? j.searchList.filter((s) => typeof s === 'string') : [],
      identities: Array.isArray(j.identities) ? j.identities : [],
      partitionIds: partitionMap(j.partitionIds),
      ...(typeof j.notaryProfile === 'string' && j.notaryProfile ? { notaryProfile: j.notaryProfile } : {}),
      ...(j.updatedAt ? { updatedAt: j.updatedAt } : {}),
    };
  } catch {
    return { searchList: [], identities: [], partitionIds: partitionMap(undefined) };
  }
}

export function writeState(dataDir: string, state: HostState): void {
  ensurePrivateDir(dataDir);
  const tmp = `${statePath(dataDir)}.${process.pid}.tmp`;
  writePrivate(tmp, `${JSON.stringify({ ...state, updatedAt: new Date().toISOString() })}\n`, { strictDir: true });
  renameSync(tmp, statePath(dataDir));
}

/**
 * Resolve the SHA-1 of the identity a `-s` argument designates, when it is unambiguous. Several identities of the
 * same name are common (revoked ones pile up beside the current one): `prefer` narrows the matches (the wrapper
 * passes "revoked" for a CSSMERR_TP_CERT_REVOKED failure, "valid" otherwise) before giving up.
 */
export function identityFor(sign: string | undefined, state: HostState, prefer?: 'valid' | 'revoked'): string | undefined {
  if (sign === undefined || sign === '-') return undefined;
  if (/^[0-9a-fA-F]{40}$/.test(sign)) return sign.toUpperCase();
  const matches = state.identities.filter((i) => i.name === sign || i.name.includes(sign));
  const unique = (list: typeof matches) => {
    const hits = new Set(list.map((i) => i.sha1));
    return hits.size === 1 ? [...hits][0] : undefined;
  };
  const all = unique(matches);
  if (all !== undefined || prefer === undefined) return all;
  return unique(matches.filter((i) => (prefer === 'revoked' ? i.trust === 'CSSMERR_TP_CERT_REVOKED' : i.trust === undefined)));
}
