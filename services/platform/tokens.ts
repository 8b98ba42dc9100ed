/**
 * Per-person bearer tokens: the one way a person proves who they are to a signwatch server (release-gate overrides,
 * drills, the console). A **token book** is a text file the server reads, one person per line:
 *
 *     # name      sha256 of the token (hex)
 *     alice       sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
 *
 * The book holds only hashes, so reading it does not let anyone act; the person's name comes from the book, never
 * from the request (a holder of one token cannot claim to be someone else). `signwatch tokens add` writes a line and
 * prints the new token once. Comparisons are constant-time over the SHA-256 digests.
 *
 * Client side, a command takes the token from an environment variable or a file (`--token-file`), never from argv.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { ConfigError, UsageError } from './errors.js';

/** A person's name: what the audit trail records. Letters, digits and `._@-`, 1–64 characters. */
export const PERSON_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const HASH = /^sha256:([0-9a-f]{64})$/;

export function hashToken(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

/** 32 random bytes, base64url (43 characters): what `tokens add` hands out. */
export function newToken(): string {
  return `swt_${randomBytes(32).toString('base64url')}`;
}

export interface TokenBook {
  readonly path: string;
  /** Number of people in the book. */
  readonly size: number;
  /** The name of the person holding `presented`, or undefined (unknown, empty or missing token). */
  identify(presented: string | undefined): string | undefined;
  names(): string[];
}

interface Entry {
  name: string;
  digest: Buffer;
}

/** Parses a token book's text; errors name the file and line. */
export function parseTokenBook(text: string, path: string): TokenBook {
  const entries: Entry[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const where = `token book ${path}: line ${i + 1}`;
    const parts = line.split(/\s+/);
    if (parts.length !== 2) throw new ConfigError(`${where}: expected "<name> sha256:<64 hex>", got ${parts.length} field(s)`);
    const [name, hash] = parts as [string, string];
    if (!PERSON_NAME.test(name)) throw new ConfigError(`${where}: '${name.slice(0, 64)}' is not a valid name (letters, digits, ._@-; up to 64)`);
    const m = HASH.exec(hash);
    if (!m) throw new ConfigError(`${where}: the hash of ${name} is not sha256:<64 lowercase hex> (store the hash, never the token)`);
    if (seen.has(name)) throw new ConfigError(`${where}: ${name} appears twice`);
    seen.add(name);
    entries.push({ name, digest: Buffer.from(m[1]!, 'hex') });
  });
  return {
    path,
    size: entries.length,
    names: () => entries.map((e) => e.name),
    identify(presented) {
      if (!presented) return undefined;
      const d = createHash('sha256').update(presented, 'utf8').digest();
      let found: string | undefined;
      // every entry is compared, so the time does not say which line matched
      for (const e of entries) if (timingSafeEqual(d, e.digest) && found === undefined) found = e.name;
      return found;
    },
  };
}

/** Reads a token book; refuses one that other users could rewrite (group/world-writable). */
export function loadTokenBook(path: string): TokenBook {
  let text: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new ConfigError(`token book ${path}: not a regular file`);
    if ((st.mode & 0o022) !== 0) {
      throw new ConfigError(`token book ${path}: writable by group or others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`);
    }
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`token book ${path}: cannot read it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseTokenBook(text, path);
}

/**
 * The token a client command presents: `--token-file FILE` when given, else the first set environment variable of
 * `envVars`. Never from argv. `command` prefixes the error ("signwatch gate override").
 */
export function readPresentedToken(opts: { command: string; file?: string; envVars: readonly string[] }): string | undefined {
  if (opts.file !== undefined) {
    try {
      const t = readFileSync(opts.file, 'utf8').trim();
      if (!t) throw new UsageError(`${opts.command}: --token-file: ${opts.file} is empty`);
      return t;
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`${opts.command}: --token-file: cannot read ${opts.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  for (const v of opts.envVars) {
    const t = process.env[v]?.trim();
    if (t) return t;
  }
  return undefined;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const h = Array.isArray(header) ? header[0] : header;
  const m = h ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  return m ? m[1] : undefined;
}
