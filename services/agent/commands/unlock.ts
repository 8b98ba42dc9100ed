/**
 * `signwatch agent unlock --keychain PATH`: the unlock helper. The password is read from file descriptor 3 only
 * (never argv, env or a file) and reaches `security` through the stdin of `security -i`, whose interactive
 * parser (security.c split_line) takes quoted arguments: it is never in any process's argv. The password is
 * scrubbed from everything the helper passes on or records. Exit status: 0 when unlocked, otherwise the status
 * `security` returned (errSecAuthFailed -25293 → 51), 1 when security could not run, 2 on bad usage.
 */
import { spawn } from 'node:child_process';
import { readSync } from 'node:fs';
import { parseCommandArgs } from '../../platform/cli.js';
import { UsageError } from '../../platform/errors.js';
import { loadConfig } from '../config.js';
import { emitEvents, parseSinkSpec } from '../spool/emit.js';
import { baseEvent, type WireEvent } from '../events.js';
import { exitByteOf } from '../macos/secbase.js';
import { parseSecurityStderr } from '../macos/security.js';

const HELP = `Usage: signwatch agent unlock --keychain PATH [--config PATH] [--sink ndjson:PATH|-] 3<password-source

Unlock a keychain with the password read from file descriptor 3 (never from argv, env or a file), through
the stdin of 'security -i', and record an 'unlock' event with the latency and the outcome.

Options:
  --keychain PATH  keychain to unlock (required)
  --config PATH    agent config (default: $SIGNWATCH_AGENT_CONFIG or /usr/local/etc/signwatch/agent.json)
  --sink SPEC      write the event to ndjson:PATH or - (stdout) instead of the spool
  -h, --help       show this help

Exit status: 0 unlocked; the security status byte on failure (51 = errSecAuthFailed, wrong password);
1 security could not run; 2 bad usage (including no password on FD 3).
`;

const MAX_PASSWORD = 4000; // a first bound on FD 3; the quoted command line is checked in bytes by securityLine()

/**
 * `security -i` reads each command into a 4096-byte line buffer (the C string's NUL included): a longer line is cut
 * and its remainder read as a second command. So a line sent to it, newline included, may be at most 4095 BYTES
 * (UTF-8, after quoting: every '"' and '\\' doubles, '€' is 3 bytes).
 */
export const SECURITY_LINE_MAX_BYTES = 4095;

/** Read all of FD 3 (a pipe or file the caller opened). One trailing newline is not part of the password. */
export function readPasswordFd(fd = 3): string {
  const where = `file descriptor ${fd}`;
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(4096);
  let total = 0;
  const deadline = Date.now() + 10_000;
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' && Date.now() < deadline) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      if (code === 'EOF') break;
      throw new UsageError(`signwatch agent: no password on ${where} (${code ?? 'error'}); pass it as ${fd}<source, e.g. ${fd}<&0`);
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    total += n;
    if (total > MAX_PASSWORD + 2) throw new UsageError(`signwatch agent: the password on ${where} is too long`);
  }
  buf.fill(0);
  let pw = Buffer.concat(chunks).toString('utf8');
  if (pw.endsWith('\r\n')) pw = pw.slice(0, -2);
  else if (pw.endsWith('\n')) pw = pw.slice(0, -1);
  if (/[\n\0]/.test(pw)) throw new UsageError(`signwatch agent: the password on ${where} must be one line`);
  return pw;
}

/** Quote an argument for security.c's split_line: double quotes, backslash before \ and ". */
export function quoteForSecurity(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * `line` (already quoted) newline-terminated for `security -i`, or a UsageError naming `command` when its UTF-8 byte
 * length exceeds SECURITY_LINE_MAX_BYTES. The message gives sizes only, never the words.
 */
export function securityLine(command: string, quoted: string): string {
  const line = `${quoted}\n`;
  const bytes = Buffer.byteLength(line, 'utf8');
  if (bytes > SECURITY_LINE_MAX_BYTES) {
    throw new UsageError(
      `${command}: the command for 'security -i' would be ${bytes} bytes once quoted (UTF-8, newline included), over its ${SECURITY_LINE_MAX_BYTES}-byte line limit; use a shorter password or keychain path (quotes and backslashes count twice, non-ASCII characters 2-4 bytes)`,
    );
  }
  return line;
}

export function scrub(text: string, secret: string): string {
  return secret.length === 0 ? text : text.split(secret).join('***');
}

export interface UnlockResult {
  ok: boolean;
  exitCode: number;
  durationMs: number;
  stderr: string;
  error?: { code: string; osStatus: number | null; message: string };
}

/** Throws a UsageError (before anything runs) when the quoted command exceeds security -i's line limit. */
export function unlockKeychain(keychain: string, password: string, timeoutMs: number): Promise<UnlockResult> {
  const line = securityLine('signwatch agent unlock', `unlock-keychain -p ${quoteForSecurity(password)} ${quoteForSecurity(keychain)}`);
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn('security', ['-i'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    let settled = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const done = (r: Omit<UnlockResult, 'durationMs' | 'stderr'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, durationMs: Math.round(performance.now() - t0), stderr: scrub(stderr, password) });
    };
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (stderr.length < 64 * 1024) stderr += s;
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      done({ ok: false, exitCode: 1, error: { code: `spawn_${e.code ?? 'failed'}`, osStatus: null, message: 'cannot run security' } });
    });
    child.stdin.on('error', () => {
      /* security exited before reading: reported by 'close' */
    });
    child.on('close', (code, signal) => {
      const clean = scrub(stderr, password);
      const parsed = parseSecurityStderr(clean);
      if (code === 0 && !parsed) return done({ ok: true, exitCode: 0 });
      if (signal) {
        return done({ ok: false, exitCode: 1, error: { code: signal === 'SIGKILL' ? 'timeout' : `signal_${signal}`, osStatus: null, message: `security ${signal === 'SIGKILL' ? `timed out after ${timeoutMs} ms` : `killed by ${signal}`}` } });
      }
      const osStatus = parsed?.osStatus ?? null;
      const exitCode = code && code !== 0 ? code : osStatus !== null ? exitByteOf(osStatus) || 1 : 1;
      const line = clean.split('\n').find((l) => l.startsWith('security: ')) ?? clean.trim().split('\n')[0] ?? '';
      done({ ok: false, exitCode, error: { code: parsed?.code ?? 'unknown', osStatus, message: line.slice(0, 4096) } });
    });
    child.stdin.end(line);
  });
}

export async function runUnlock(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseCommandArgs(
    'agent unlock',
    argv,
    { keychain: { type: 'string' }, config: { type: 'string' }, sink: { type: 'string' } },
    HELP,
    false,
  );
  if (!parsed) return 0;
  const keychain = parsed.values.keychain;
  if (!keychain) throw new UsageError(`signwatch agent unlock: --keychain PATH is required\nTry 'signwatch agent unlock --help'.`);
  const sink = parseSinkSpec(parsed.values.sink);
  if (!sink) throw new UsageError(`signwatch agent unlock: --sink: expected ndjson:PATH or -`);
  const cfg = loadConfig(parsed.values.config, env);
  const password = readPasswordFd(3);
  const r = await unlockKeychain(keychain, password, cfg.unlockTimeoutMs);
  if (r.stderr) process.stderr.write(r.stderr);
  const ev: WireEvent = baseEvent(cfg, 'unlock', Date.now(), env);
  ev.outcome = r.ok ? 'ok' : 'fail';
  ev.durationMs = r.durationMs;
  ev.keychain = keychain;
  if (r.error) ev.error = { ...r.error, message: scrub(r.error.message, password) };
  emitEvents(cfg, [ev], sink);
  return r.ok ? 0 : r.exitCode;
}
