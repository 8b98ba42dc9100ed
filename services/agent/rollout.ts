/**
 * The steps of the source article's rollout that `agent keychain create`, `agent identity import`, `agent doctor`
 * and `agent rotate-after-leak` share (docs/rollout.md): `security` run without a shell, every password on the
 * stdin of `security -q -i` (security.c split_line quoting), never in argv, env or a file; each keychain change
 * recorded as an `acl` event (the acl_outside_window alert watches those made outside a maintenance window).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CodedError } from '../platform/errors.js';
import { inMaintenanceWindow, type AgentConfig } from './config.js';
import { baseEvent, type WireEvent } from './events.js';
import { classifyCodesignStderr } from './macos/codesign.js';
import { parseFindIdentity, parseKeychainInfo, type Identity, type KeychainInfo } from './macos/security.js';
import { quoteForSecurity, scrub, securityLine } from './commands/unlock.js';
import { recordRun } from './record.js';
import { runCapture, type ToolOutput } from './scan.js';
import { emitEvents, type SinkSpec } from './spool/emit.js';

/** The partition IDs the article and every CI importer (fastlane, Apple-Actions) set: Apple's tools, no UI. */
export const PARTITION_IDS = 'apple-tool:,apple:';
/** The only applications allowed to use an imported key (`security import -T`), step 3 of the article. */
export const TRUSTED_APPS: readonly string[] = ['/usr/bin/codesign', '/usr/bin/productsign'];

/**
 * Run one `security` command whose arguments hold secrets: the line goes to `security -q -i` on stdin (no prompt on
 * a non-tty stdin, no "returned N" trailer), and every secret is scrubbed from what comes back.
 */
export function securityWithSecrets(args: readonly string[], secrets: readonly string[], timeoutMs: number, cmd = 'signwatch agent'): Promise<ToolOutput> {
  // checked in UTF-8 bytes against security -i's line buffer (a longer line would be cut into two commands)
  const line = securityLine(cmd, args.map(quoteForSecurity).join(' '));
  const clean = (s: string) => secrets.reduce((t, x) => scrub(t, x), s);
  return new Promise((resolve) => {
    const child = spawn('security', ['-q', '-i'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let done = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const finish = (o: ToolOutput) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ ...o, stdout: clean(o.stdout), stderr: clean(o.stderr) });
    };
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      if (stdout.length < 1024 * 1024) stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < 64 * 1024) stderr += s;
    });
    child.stdin.on('error', () => undefined); // security exited before reading: reported by 'close'
    child.on('error', (e: NodeJS.ErrnoException) => finish({ code: 127, stdout, stderr: `security: ${e.code ?? 'cannot run'}`, spawnError: e.code ?? 'spawn_failed' }));
    child.on('close', (code, signal) => finish({ code: code ?? 1, stdout, stderr, ...(signal === 'SIGKILL' ? { timedOut: true } : {}) }));
    child.stdin.end(line);
  });
}

/** `security <args>` with nothing secret in them. */
export function security(args: readonly string[], timeoutMs = 15_000): Promise<ToolOutput> {
  return runCapture('security', args, timeoutMs);
}

/** security's own words for a failure: its first `security: …` line, else the last line, else the status. */
export function securityMessage(o: ToolOutput): string {
  const lines = `${o.stderr}\n${o.stdout}`.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (o.timedOut) return 'security did not answer in time';
  return (lines.find((l) => l.startsWith('security: ')) ?? lines[lines.length - 1] ?? `exit status ${o.code}`).slice(0, 1024);
}

export interface StepContext {
  cfg: AgentConfig;
  sink: SinkSpec;
  env: NodeJS.ProcessEnv;
  /** The command name for messages: `agent keychain create`. */
  cmd: string;
}

/** An `acl` event for a keychain change that is not a set-key-partition-list (that one goes through record.ts). */
export function recordAcl(ctx: StepContext, command: string, keychain: string, o: Pick<ToolOutput, 'code'> & { outcome?: string }, extra: Record<string, unknown> = {}): WireEvent {
  const now = Date.now();
  const ev = baseEvent(ctx.cfg, 'acl', now, ctx.env);
  ev.command = command;
  ev.keychain = keychain.slice(0, 1024);
  ev.partitionIds = [];
  ev.declared = inMaintenanceWindow(ctx.cfg, now);
  ev.exitCode = o.code;
  ev.outcome = o.outcome ?? (o.code === 0 ? 'ok' : 'fail');
  Object.assign(ev, extra);
  emitEvents(ctx.cfg, [ev], ctx.sink);
  return ev;
}

function fail(ctx: StepContext, what: string, o: ToolOutput, hint = ''): CodedError {
  return new CodedError('SW_AGENT_SECURITY', `signwatch ${ctx.cmd}: ${what}: ${securityMessage(o)}${hint}`);
}

/** The keychain settings the CI keychain must have: no lock on sleep, no inactivity timeout (a build never sees it lock). */
export function settingsProblem(info: KeychainInfo): string | undefined {
  const p: string[] = [];
  if (info.lockOnSleep) p.push('locks on sleep');
  if (info.timeoutSec !== null) p.push(`locks after ${info.timeoutSec} s of inactivity`);
  return p.length ? p.join(' and ') : undefined;
}

export async function keychainInfo(keychain: string): Promise<{ out: ToolOutput; info: KeychainInfo | undefined }> {
  const out = await security(['show-keychain-info', keychain]);
  // show-keychain-info writes its answer on stderr (keychain_show_info.c)
  return { out, info: out.code === 0 ? parseKeychainInfo(`${out.stderr}\n${out.stdout}`) : undefined };
}

/**
 * Step 2: a file keychain with the vault password, then `set-keychain-settings` with no option (no lock on sleep, no
 * timeout), then `show-keychain-info` proves it. Refuses to overwrite an existing file.
 */
export async function createKeychain(ctx: StepContext, path: string, password: string): Promise<KeychainInfo> {
  if (existsSync(path)) {
    throw new CodedError('SW_AGENT_REFUSED', `signwatch ${ctx.cmd}: --path ${path}: a file already exists there (to replace a leaked keychain run 'signwatch agent rotate-after-leak')`);
  }
  const created = await securityWithSecrets(['create-keychain', '-p', password, path], [password], ctx.cfg.unlockTimeoutMs, `signwatch ${ctx.cmd}`);
  recordAcl(ctx, 'create-keychain', path, created);
  if (created.code !== 0) throw fail(ctx, `create-keychain ${path}`, created);
  const settings = await security(['set-keychain-settings', path]);
  recordAcl(ctx, 'set-keychain-settings', path, settings, { settings: 'no-timeout' });
  if (settings.code !== 0) throw fail(ctx, `set-keychain-settings ${path}`, settings);
  const { out, info } = await keychainInfo(path);
  if (!info) throw fail(ctx, `show-keychain-info ${path}`, out, ' (cannot read the settings back)');
  const problem = settingsProblem(info);
  if (problem) throw new CodedError('SW_AGENT_SECURITY', `signwatch ${ctx.cmd}: ${path}: the keychain still ${problem} after set-keychain-settings`);
  return info;
}

export interface ImportedIdentity {
  sha1: string;
  name: string;
}

/** Valid code-signing identities in one keychain (`security find-identity -v -p codesigning KC`). */
export async function identitiesIn(keychain: string): Promise<{ out: ToolOutput; identities: Identity[] }> {
  const out = await security(['find-identity', '-v', '-p', 'codesigning', keychain]);
  return { out, identities: out.code === 0 ? parseFindIdentity(out.stdout).filter((i) => i.valid) : [] };
}

export interface TestSignature {
  ok: boolean;
  code?: string;
  message?: string;
}

/**
 * A non-interactive test signature of a scratch binary (stdin closed, no tty): the errSecInternalComponent trap of
 * an SSH or launchd session shows here before a release does.
 */
export async function testSignature(sha1: string, keychain: string, timeoutMs = 60_000): Promise<TestSignature> {
  const dir = mkdtempSync(join(tmpdir(), 'signwatch-testsign-'));
  try {
    const scratch = join(dir, 'scratch');
    if (existsSync('/usr/bin/true')) copyFileSync('/usr/bin/true', scratch);
    else writeFileSync(scratch, '#!/bin/sh\n', { mode: 0o700 });
    const out = await new Promise<ToolOutput>((resolve) => {
      const child = spawn('codesign', ['--force', '--sign', sha1, '--keychain', keychain, scratch], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.stderr.setEncoding('utf8').on('data', (s: string) => {
        if (stderr.length < 64 * 1024) stderr += s;
      });
      child.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve({ code: 127, stdout: '', stderr: `codesign: ${e.code ?? 'cannot run'}`, spawnError: e.code ?? 'spawn_failed' });
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, stdout: '', stderr, ...(signal === 'SIGKILL' ? { timedOut: true } : {}) });
      });
    });
    if (out.code === 0) return { ok: true };
    if (out.spawnError) return { ok: false, code: `spawn_${out.spawnError}`, message: 'cannot run codesign' };
    if (out.timedOut) return { ok: false, code: 'timeout', message: `codesign did not finish within ${timeoutMs} ms (waiting for a keychain prompt nobody sees?)` };
    const e = classifyCodesignStderr(out.stderr, out.code);
    return { ok: false, code: e.code, message: e.message };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Step 3: unlock, `security import FILE -k KC -P <p12 password> -T /usr/bin/codesign -T /usr/bin/productsign`, the
 * partition list `apple-tool:,apple:` through the wrapper's recorder (an `acl` event, state.json), then a test
 * signature that must succeed without UI.
 */
export async function importIdentity(ctx: StepContext, p12: string, keychain: string, keychainPassword: string, p12Password: string, want?: string): Promise<ImportedIdentity> {
  const secrets = [keychainPassword, p12Password];
  const t = ctx.cfg.unlockTimeoutMs;
  if (!existsSync(p12)) throw new CodedError('SW_INPUT_UNREADABLE', `signwatch ${ctx.cmd}: --p12 ${p12}: no such file`);
  const unlocked = await securityWithSecrets(['unlock-keychain', '-p', keychainPassword, keychain], secrets, t, `signwatch ${ctx.cmd}`);
  if (unlocked.code !== 0) throw fail(ctx, `unlock-keychain ${keychain}`, unlocked, ' (is the keychain password on FD 3 right?)');
  const trusted = TRUSTED_APPS.flatMap((a) => ['-T', a]);
  const imported = await securityWithSecrets(['import', p12, '-k', keychain, '-P', p12Password, ...trusted], secrets, t, `signwatch ${ctx.cmd}`);
  recordAcl(ctx, 'import', keychain, imported, { file: basename(p12).slice(0, 256), trustedApps: [...TRUSTED_APPS] });
  if (imported.code !== 0) {
    const wrongPassword = /MAC verification failed|passphrase you entered is not correct/.test(imported.stderr);
    throw fail(ctx, `import ${p12}`, imported, wrongPassword ? ' (is the .p12 password on FD 4 right?)' : '');
  }
  const aclArgs = ['set-key-partition-list', '-S', PARTITION_IDS, '-s', keychain];
  const t0 = performance.now();
  const sealed = await securityWithSecrets(['set-key-partition-list', '-S', PARTITION_IDS, '-s', '-k', keychainPassword, keychain], secrets, t, `signwatch ${ctx.cmd}`);
  // recorded exactly as `agent exec --password-fd 3 -- security set-key-partition-list …` records it
  recordRun(ctx.cfg, 'acl', aclArgs, { exitCode: sealed.code, signal: null, durationMs: Math.round(performance.now() - t0), stdout: '', stderr: sealed.stderr }, ctx.sink, ctx.env);
  if (sealed.code !== 0) throw fail(ctx, `set-key-partition-list ${keychain}`, sealed);
  const { out, identities } = await identitiesIn(keychain);
  if (out.code !== 0) throw fail(ctx, `find-identity ${keychain}`, out);
  const id = want ? identities.find((i) => i.sha1 === want) : identities.find((i) => i.sha1 !== undefined);
  if (!id?.sha1) {
    throw new CodedError('SW_AGENT_SECURITY', `signwatch ${ctx.cmd}: ${keychain}: ${want ? `no valid code-signing identity ${want}` : 'no valid code-signing identity'} after the import`);
  }
  const sig = await testSignature(id.sha1, keychain);
  if (!sig.ok) {
    throw new CodedError(
      'SW_AGENT_SECURITY',
      `signwatch ${ctx.cmd}: test signature with ${id.sha1} failed: ${sig.code ?? 'unknown'}: ${sig.message ?? ''} (unlock the keychain with 'signwatch agent unlock' and check its partition list)`,
    );
  }
  return { sha1: id.sha1, name: id.name };
}
