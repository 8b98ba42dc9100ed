/**
 * The one way signwatch creates its own files (stores, outbox, audit log, spool, agent state and logs): files 0600,
 * directories 0700, and nothing followed or trusted that another user could have put there.
 *
 * - A file is opened with O_NOFOLLOW: a symlink at its path is refused (ELOOP), never written through.
 * - It must be a regular file owned by us (or root's own when we are root); a file we own that is wider than 0600
 *   (an older signwatch created it 0644) is narrowed to 0600 on open.
 * - A data directory must not be group- or world-writable: another user could swap our files there. `strict`
 *   (the agent's dataDir) refuses any such mode, sticky bit or not; otherwise a sticky directory such as /tmp
 *   (others cannot rename or delete our files) is accepted for the file's parent.
 *
 * Errors are SW_FILE_UNSAFE and say the path and why: `<path>: is a symbolic link (refused: …)`.
 * No dependency but node:fs and the error catalogue: the agent's exec wrapper uses it.
 */
import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { CodedError } from './errors.js';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

export class UnsafePathError extends CodedError {
  constructor(
    readonly path: string,
    why: string,
  ) {
    super('SW_FILE_UNSAFE', `${path}: ${why}`);
  }
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');
const euid = (): number | undefined => (typeof process.geteuid === 'function' ? process.geteuid() : undefined);

/**
 * mkdir -p with 0700 for what it creates, then check the directory itself: a directory (a symlink to one is fine:
 * its target is checked), not group/world-writable (see `strict`), owned by us or root.
 */
export function ensurePrivateDir(dir: string, opts: { strict?: boolean } = {}): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  checkDir(dir, opts.strict ?? true);
}

function checkDir(dir: string, strict: boolean): void {
  const st = statSync(dir);
  if (!st.isDirectory()) throw new UnsafePathError(dir, 'is not a directory');
  const writable = (st.mode & 0o022) !== 0;
  const sticky = (st.mode & 0o1000) !== 0;
  if (writable && (strict || !sticky)) {
    throw new UnsafePathError(dir, `is group/world-writable (mode ${octal(st.mode)}): other users could replace its files; chmod 700 it or choose another directory`);
  }
  const me = euid();
  if (strict && me !== undefined && st.uid !== me && st.uid !== 0) {
    throw new UnsafePathError(dir, `is owned by uid ${st.uid}, not by us (uid ${me}): refused`);
  }
}

export type PrivateOpenMode = 'append' | 'write' | 'create';

const FLAGS: Record<PrivateOpenMode, number> = {
  append: constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT,
  write: constants.O_WRONLY | constants.O_TRUNC | constants.O_CREAT,
  create: constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
};

/**
 * Open (creating 0600) a file of ours without following a symlink; returns the fd. The parent directory is created
 * 0700 when missing and checked (sticky world-writable parents such as /tmp allowed unless `strictDir`).
 */
export function openPrivate(path: string, mode: PrivateOpenMode, opts: { strictDir?: boolean } = {}): number {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  checkDir(dir, opts.strictDir ?? false);
  let fd: number;
  try {
    fd = openSync(path, FLAGS[mode] | constants.O_NOFOLLOW, PRIVATE_FILE_MODE);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EMLINK') throw new UnsafePathError(path, 'is a symbolic link (refused: signwatch never writes through a link, it could point anywhere)');
    throw e;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UnsafePathError(path, 'is not a regular file');
    const me = euid();
    if (me !== undefined && st.uid !== me) throw new UnsafePathError(path, `is owned by uid ${st.uid}, not by us (uid ${me}): refused`);
    if ((st.mode & 0o077) !== 0) fchmodSync(fd, PRIVATE_FILE_MODE);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

/** Append text to a private file (created 0600); `fsync` makes it durable before returning (audit logs). */
export function appendPrivate(path: string, text: string, opts: { fsync?: boolean; strictDir?: boolean } = {}): void {
  const fd = openPrivate(path, 'append', opts);
  try {
    writeAll(fd, Buffer.from(text, 'utf8'));
    if (opts.fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replace a private file's content (created 0600, truncated). */
export function writePrivate(path: string, text: string, opts: { fsync?: boolean; strictDir?: boolean } = {}): void {
  const fd = openPrivate(path, 'write', opts);
  try {
    writeAll(fd, Buffer.from(text, 'utf8'));
    if (opts.fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Make sure a file another library opens by path (SQLite) exists as a private regular file of ours: created 0600
 * if missing, narrowed to 0600 if wider, refused if a symlink. SQLite gives its -wal/-shm files the mode of the
 * database file.
 */
export function ensurePrivateFile(path: string, opts: { strictDir?: boolean } = {}): void {
  closeSync(openPrivate(path, 'append', opts));
}

function writeAll(fd: number, b: Buffer): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off);
}
