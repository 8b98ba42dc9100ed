/**
 * What the scanner learnt about the host, cached for the exec wrapper so that a signing call never runs extra
 * tools: the keychain search list, the identities (SHA-1 + name) and the partition IDs last set per keychain.
 * Written atomically (temp file + rename); a missing or unreadable file is an empty state, never an error.
 */
import { readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface HostState {
  searchList: string[];
  identities: { sha1: string; name: string }[];
  partitionIds: Record<string, string[]>;
  updatedAt?: string;
}

export function statePath(dataDir: string): string {
  return join(dataDir, 'state.json');
}

export function readState(dataDir: string): HostState {
  try {
    const j = JSON.parse(readFileSync(statePath(dataDir), 'utf8')) as Partial<HostState>;
    return {
      searchList: Array.isArray(j.searchList) ? j.searchList.filter((s) => typeof s === 'string') : [],
      identities: Array.isArray(j.identities) ? j.identities : [],
      partitionIds: j.partitionIds && typeof j.partitionIds === 'object' ? j.partitionIds : {},
      ...(j.updatedAt ? { updatedAt: j.updatedAt } : {}),
    };
  } catch {
    return { searchList: [], identities: [], partitionIds: {} };
  }
}

export function writeState(dataDir: string, state: HostState): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const tmp = `${statePath(dataDir)}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ ...state, updatedAt: new Date().toISOString() })}\n`, { mode: 0o600 });
  renameSync(tmp, statePath(dataDir));
}

/** Resolve the SHA-1 of the identity a `-s` argument designates, when it is unambiguous. */
export function identityFor(sign: string | undefined, state: HostState): string | undefined {
  if (sign === undefined || sign === '-') return undefined;
  if (/^[0-9a-fA-F]{40}$/.test(sign)) return sign.toUpperCase();
  const hits = new Set(state.identities.filter((i) => i.name === sign || i.name.includes(sign)).map((i) => i.sha1));
  return hits.size === 1 ? [...hits][0] : undefined;
}
