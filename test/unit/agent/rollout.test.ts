/**
 * The rollout commands (docs/rollout.md) against the fake macOS tools, whose outputs are real captures
 * (services/demo/fake-macos/fixtures/INDEX.md): `agent keychain create`, `agent identity import`, `agent ssh-command`,
 * `agent doctor [--json]`, `agent rotate-after-leak`. Passwords arrive on FD 3 / FD 4 only and must never show up in
 * argv, output, events or the spool; failure paths: a wrong .p12 password, a partition list without apple-tool:, the
 * login keychain first in the search list, a distribution identity on a compile host, a relative config path in the
 * launchd plist.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateEvent } from '../../../schemas/events.js';
import { renderPlist } from '../../../services/agent/commands/install.js';
import { scrubCommand } from '../../../services/agent/commands/ssh-command.js';
import { plistConfigArg } from '../../../services/agent/commands/doctor.js';
import { parseKeychainInfo } from '../../../services/agent/macos/security.js';
import { writeState } from '../../../services/agent/state.js';
import { baselineOf } from '../../../services/agent/fleet-baseline.js';
import { parseConfig } from '../../../services/agent/config.js';
import { wrapperSha256 } from '../../../services/agent/scan.js';
import { BIN, fixture, sandbox, spooled, type Sandbox } from './helpers.js';

const KC_PW = `kc "pw" with spaces \\ and $(x)`;
const P12_PW = `p12-s3cret 'q'`;
const SECRETS = ['kc "pw"', 'p12-s3cret'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI with text on FD 3 and FD 4 (pipes), like `3< <(vault read …) 4< <(vault read …)`. */
function run(args: string[], env: NodeJS.ProcessEnv, fds: { 3?: string; 4?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const stdio: ('ignore' | 'pipe')[] = ['ignore', 'pipe', 'pipe', fds[3] !== undefined ? 'pipe' : 'ignore', fds[4] !== undefined ? 'pipe' : 'ignore'];
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    for (const fd of [3, 4] as const) {
      const text = fds[fd];
      if (text === undefined) continue;
      const w = child.stdio[fd] as NodeJS.WritableStream;
      w.on('error', () => undefined);
      w.end(text);
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Host {
  sb: Sandbox;
  kc: string;
  env: NodeJS.ProcessEnv;
  stdinLog: string;
  argvLog: string;
  home: string;
  plist: string;
}

/** A sandboxed host: config with the fleet's settings, fake security state files, a launchd plist with an absolute config. */
function host(extra: Record<string, unknown> = {}, fleet: Record<string, unknown> = {}): Host {
  const sb = sandbox();
  const kc = join(sb.dir, 'ci-build.keychain-db');
  const home = join(sb.dir, 'home');
  const plist = join(sb.dir, 'com.signwatch.agent.plist');
  const cfg = JSON.parse(readFileSync(sb.config, 'utf8')) as Record<string, unknown>;
  Object.assign(cfg, {
    keychain: kc,
    secretVersion: 'vault-v42',
    fleet: { searchList: [kc, '/Library/Keychains/System.keychain'], secretVersion: 'vault-v42', p12SearchDirs: [home], launchdPlist: plist, ...fleet },
    ...extra,
  });
  writeFileSync(sb.config, JSON.stringify(cfg));
  mkdirSync(home, { recursive: true });
  writeFileSync(plist, renderPlist({ label: 'com.signwatch.agent', node: '/usr/local/bin/node', bin: '/usr/local/signwatch/bin/signwatch', config: sb.config, logDir: '/usr/local/var/log/signwatch' }));
  const kcPwFile = join(sb.dir, 'kc-pw');
  const p12PwFile = join(sb.dir, 'p12-pw');
  writeFileSync(kcPwFile, KC_PW);
  writeFileSync(p12PwFile, P12_PW);
  const stdinLog = join(sb.dir, 'security-stdin.log');
  const argvLog = join(sb.dir, 'security-argv.log');
  const env: NodeJS.ProcessEnv = {
    ...sb.env,
    FAKE_SECURITY_PASSWORD_FILE: kcPwFile,
    FAKE_SECURITY_P12_PASSWORD_FILE: p12PwFile,
    FAKE_SECURITY_FIND_IDENTITY: 'security-find-identity-p-codesigning__travis-ci',
    FAKE_SECURITY_SEARCH_LIST_FILE: join(sb.dir, 'search-list'),
    FAKE_SECURITY_STDIN_LOG: stdinLog,
    FAKE_SECURITY_LOG: argvLog,
    HOME: home,
  };
  return { sb, kc, env, stdinLog, argvLog, home, plist };
}

function lines(path: string): string[][] {
  return existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]) : [];
}

function readTree(dir: string): string {
  let text = '';
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) text += readFileSync(join(e.parentPath, e.name), 'utf8');
  return text;
}

function assertNoSecret(h: Host, ...texts: string[]): void {
  for (const t of [...texts, readTree(h.sb.dataDir), readFileSync(h.argvLog, 'utf8'), existsSync(h.stdinLog) ? readFileSync(h.stdinLog, 'utf8') : '']) {
    for (const s of SECRETS) assert.ok(!t.includes(s), `a password leaked: ${s}`);
  }
}

function allValid(events: Record<string, unknown>[]): void {
  for (const e of events) {
    const r = validateEvent(e);
    assert.ok(r.ok, `${JSON.stringify(e)}: ${r.ok ? '' : r.reason}`);
  }
}

async function setUpReadyHost(h: Host): Promise<void> {
  const created = await run(['agent', 'keychain', 'create', '--path', h.kc], h.env, { 3: `${KC_PW}\n` });
  assert.equal(created.code, 0, created.stderr);
  writeFileSync(join(h.sb.dir, 'cert.p12'), 'not really a pkcs12 bundle: the fake security only checks -P');
  const imported = await run(['agent', 'identity', 'import', '--p12', join(h.sb.dir, 'cert.p12'), '--keychain', h.kc], h.env, { 3: `${KC_PW}\n`, 4: `${P12_PW}\n` });
  assert.equal(imported.code, 0, imported.stderr);
  const ssh = await run(['agent', 'ssh-command'], { ...h.env, SSH_ORIGINAL_COMMAND: 'true' });
  assert.equal(ssh.code, 0, ssh.stderr);
}

void test('show-keychain-info parser reads the real captures', () => {
  assert.deepEqual(parseKeychainInfo(fixture('security-show-keychain-info__lock-on-sleep-timeout-300s-jenkins.txt')), {
    name: '/Users/Shared/Jenkins/Library/Keychains/login.keychain',
    lockOnSleep: true,
    timeoutSec: 300,
  });
  assert.deepEqual(parseKeychainInfo(fixture('security-show-keychain-info__no-timeout-shell-notes.txt')), { name: '/Users/marc/Library/Keychains/login.keychain-db', lockOnSleep: false, timeoutSec: null });
  assert.equal(parseKeychainInfo('security: SecKeychainCopySettings x: User interaction is not allowed.'), undefined);
});

void test('keychain create: password from FD 3 only, never-locking settings read back, acl events; refuses an existing file', async () => {
  const h = host();
  try {
    const r = await run(['agent', 'keychain', 'create', '--path', h.kc], h.env, { 3: `${KC_PW}\n` });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /created; no lock on sleep, no timeout/);
    assert.deepEqual(lines(h.stdinLog), [['create-keychain', '-p', '***', h.kc]], 'the password went to security -i on stdin');
    assert.deepEqual(lines(h.argvLog), [['-q', '-i'], ['set-keychain-settings', h.kc], ['show-keychain-info', h.kc]]);
    const events = spooled(h.sb.dataDir);
    allValid(events);
    assert.deepEqual(events.map((e) => [e.type, e.command, e.outcome, e.keychain]), [
      ['acl', 'create-keychain', 'ok', h.kc],
      ['acl', 'set-keychain-settings', 'ok', h.kc],
    ]);
    assertNoSecret(h, r.stdout, r.stderr);

    const again = await run(['agent', 'keychain', 'create', '--path', h.kc], h.env, { 3: `${KC_PW}\n` });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /a file already exists there/);
    assert.equal((await run(['agent', 'keychain', 'create', '--path', 'relative.keychain-db'], h.env, { 3: 'x\n' })).code, 2);
    const noFd = await run(['agent', 'keychain', 'create', '--path', join(h.sb.dir, 'other.keychain-db')], h.env);
    assert.equal(noFd.code, 2);
    assert.match(noFd.stderr, /no password on file descriptor 3/);
  } finally {
    h.sb.cleanup();
  }
});

void test('identity import: -T codesign/productsign only, partition list apple-tool:,apple: recorded, test signature; no password anywhere', async () => {
  const h = host();
  try {
    assert.equal((await run(['agent', 'keychain', 'create', '--path', h.kc], h.env, { 3: `${KC_PW}\n` })).code, 0);
    const p12 = join(h.sb.dir, 'cert.p12');
    writeFileSync(p12, 'pkcs12 bytes');
    const r = await run(['agent', 'identity', 'import', '--p12', p12, '--keychain', h.kc], h.env, { 3: `${KC_PW}\n`, 4: `${P12_PW}\n` });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /86890D67F234745572B7EF153C72DEA7CF522EDE "iPhone Distribution: Tien Le \(QG598U658S\)" imported/);
    const stdin = lines(h.stdinLog);
    assert.deepEqual(stdin.slice(1), [
      ['unlock-keychain', '-p', '***', h.kc],
      ['import', p12, '-k', h.kc, '-P', '***', '-T', '/usr/bin/codesign', '-T', '/usr/bin/productsign'],
      ['set-key-partition-list', '-S', 'apple-tool:,apple:', '-s', '-k', '***', h.kc],
    ]);
    const events = spooled(h.sb.dataDir);
    allValid(events);
    const acl = events.slice(2).map((e) => [e.command, e.outcome, e.partitionIds]);
    assert.deepEqual(acl, [
      ['import', 'ok', []],
      ['set-key-partition-list', 'ok', ['apple-tool:', 'apple:']],
    ]);
    const state = JSON.parse(readFileSync(join(h.sb.dataDir, 'state.json'), 'utf8')) as { partitionIds: Record<string, string[]> };
    assert.deepEqual(state.partitionIds[h.kc], ['apple-tool:', 'apple:'], 'the doctor and the exec wrapper learn the partition list');
    assertNoSecret(h, r.stdout, r.stderr);
  } finally {
    h.sb.cleanup();
  }
});

void test('identity import: a wrong .p12 password is the real MAC verification failure, exit 1, recorded as a failed import', async () => {
  const h = host();
  try {
    assert.equal((await run(['agent', 'keychain', 'create', '--path', h.kc], h.env, { 3: `${KC_PW}\n` })).code, 0);
    const p12 = join(h.sb.dir, 'cert.p12');
    writeFileSync(p12, 'pkcs12 bytes');
    const r = await run(['agent', 'identity', 'import', '--p12', p12, '--keychain', h.kc], h.env, { 3: `${KC_PW}\n`, 4: 'not-the-p12-password\n' });
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `signwatch agent identity import: import ${p12}: security: SecKeychainItemImport: MAC verification failed during PKCS12 import (wrong password?) (is the .p12 password on FD 4 right?)\n`,
    );
    const events = spooled(h.sb.dataDir);
    allValid(events);
    assert.deepEqual(events.map((e) => [e.command, e.outcome]).slice(2), [['import', 'fail']]);
    assert.ok(!lines(h.stdinLog).some((l) => l[0] === 'set-key-partition-list'), 'nothing is sealed after a failed import');
    assertNoSecret(h, r.stdout, r.stderr);
  } finally {
    h.sb.cleanup();
  }
});

void test('identity import: a test signature that hits errSecInternalComponent fails the import', async () => {
  const h = host();
  try {
    assert.equal((await run(['agent', 'keychain', 'create', '--path', h.kc], h.env, { 3: `${KC_PW}\n` })).code, 0);
    const p12 = join(h.sb.dir, 'cert.p12');
    writeFileSync(p12, 'pkcs12 bytes');
    const env = { ...h.env, FAKE_CODESIGN: 'codesign-errSecInternalComponent__replacing-existing' };
    const r = await run(['agent', 'identity', 'import', '--p12', p12, '--keychain', h.kc], env, { 3: `${KC_PW}\n`, 4: `${P12_PW}\n` });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /test signature with 86890D67F234745572B7EF153C72DEA7CF522EDE failed: errSecInternalComponent/);
  } finally {
    h.sb.cleanup();
  }
});

void test('doctor: a host set up by the rollout commands passes every check (table and --json), and says so in a doctor event', async () => {
  const h = host();
  try {
    await setUpReadyHost(h);
    const table = await run(['agent', 'doctor'], h.env);
    assert.equal(table.code, 0, table.stdout + table.stderr);
    assert.match(table.stdout, /READY: every check passed\n$/);
    for (const name of ['keychain_file', 'search_list', 'keychain_unlocked', 'partition_list', 'test_signature', 'no_distribution_on_compile_host', 'no_stray_p12', 'notary_profile', 'clock_offset', 'parity', 'launchd_agent']) {
      assert.match(table.stdout, new RegExp(`^PASS  ${name}\\b`, 'm'), name);
    }
    const json = await run(['agent', 'doctor', '--json'], h.env);
    assert.equal(json.code, 0);
    const report = JSON.parse(json.stdout) as { ready: boolean; checks: { name: string; ok: boolean }[] };
    assert.equal(report.ready, true);
    assert.equal(report.checks.length, 11);
    const events = spooled(h.sb.dataDir);
    allValid(events);
    const doctors = events.filter((e) => e.type === 'doctor');
    assert.deepEqual(doctors.map((e) => e.ready), [true, true]);
    const session = events.find((e) => e.type === 'session');
    assert.deepEqual(session?.searchListAfter, [h.kc, '/Library/Keychains/System.keychain']);
    assert.ok(events.some((e) => e.type === 'clock' && e.outcome === 'ok'), 'the clock probe is recorded too');
  } finally {
    h.sb.cleanup();
  }
});

void test('doctor: login keychain first, partition list without apple-tool:, distribution identity on a compile host, relative launchd config, a stray .p12, a keychain that auto-locks — each fails with its fix, exit 1', async () => {
  const h = host({ pool: 'compile' });
  try {
    // a keychain as create-keychain leaves it (locks on sleep, 300 s), never set to the fleet's settings
    const created = await run(['agent', 'keychain', 'create', '--path', h.kc], h.env, { 3: `${KC_PW}\n` });
    assert.equal(created.code, 0);
    const p12 = join(h.sb.dir, 'cert.p12');
    writeFileSync(p12, 'pkcs12 bytes');
    const env: NodeJS.ProcessEnv = { ...h.env, FAKE_SECURITY_LIST_KEYCHAINS: 'security-list-keychains__login-first-openjdk' };
    delete env.FAKE_SECURITY_SEARCH_LIST_FILE;
    writeFileSync(h.kc, JSON.stringify({ fake: 'signwatch fake keychain', lockOnSleep: true, useLockInterval: false, timeoutSec: 300 }));
    writeState(h.sb.dataDir, { searchList: [], identities: [], partitionIds: { [h.kc]: ['apple:'] } });
    writeFileSync(h.plist, renderPlist({ label: 'com.signwatch.agent', node: '/usr/local/bin/node', bin: '/usr/local/signwatch/bin/signwatch', config: 'etc/agent.json', logDir: '/tmp' }));
    mkdirSync(join(h.home, 'Downloads'));
    writeFileSync(join(h.home, 'Downloads', 'dist.p12'), 'x');
    const r = await run(['agent', 'doctor', '--json'], env);
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as { ready: boolean; checks: { name: string; ok: boolean; detail: string; fix?: string }[] };
    assert.equal(report.ready, false);
    const by = new Map(report.checks.map((c) => [c.name, c]));
    const failed = (name: string, detail: RegExp, fix: RegExp) => {
      const c = by.get(name);
      assert.equal(c?.ok, false, name);
      assert.match(c.detail, detail, name);
      assert.match(c.fix ?? '', fix, name);
    };
    failed('search_list', /^the login keychain is first: \/Users\/alexeysemenyuk\/Library\/Keychains\/login\.keychain-db, \/Library\/Keychains\/System\.keychain$/, /agent ssh-command/);
    failed('partition_list', /^apple: \(recorded by the wrapper\) lacks apple-tool:/, /set-key-partition-list -S apple-tool:,apple:/);
    failed('no_distribution_on_compile_host', /86890D67F234745572B7EF153C72DEA7CF522EDE "iPhone Distribution: Tien Le \(QG598U658S\)"/, /delete-identity/);
    failed('launchd_agent', /--config etc\/agent\.json is a relative path/, /agent install --print-plist/);
    failed('no_stray_p12', /Downloads\/dist\.p12/, /delete them/);
    failed('keychain_unlocked', /locks on sleep and locks after 300 s of inactivity/, /set-keychain-settings/);
    assert.equal(by.get('keychain_file')?.ok, true);
    assert.equal(by.get('clock_offset')?.ok, true);
    const table = await run(['agent', 'doctor'], env);
    assert.equal(table.code, 1);
    assert.match(table.stdout, /^FAIL {2}search_list +the login keychain is first/m);
    assert.match(table.stdout, /NOT READY: 6 of 11 checks failed\n$/);
    const doctors = spooled(h.sb.dataDir).filter((e) => e.type === 'doctor');
    allValid(doctors);
    assert.deepEqual(doctors.map((e) => e.ready), [false, false]);
  } finally {
    h.sb.cleanup();
  }
});

void test('doctor: launchd agent not loaded, wrong secret version, clock beyond policy', async () => {
  const h = host({}, { secretVersion: 'vault-v43', maxClockOffsetMs: 0 });
  try {
    await setUpReadyHost(h);
    const r = await run(['agent', 'doctor', '--json'], { ...h.env, FAKE_LAUNCHCTL_PRINT_EXIT: '113' });
    assert.equal(r.code, 1);
    const by = new Map((JSON.parse(r.stdout) as { checks: { name: string; ok: boolean; detail: string }[] }).checks.map((c) => [c.name, c]));
    assert.match(by.get('launchd_agent')?.detail ?? '', /gui\/\d+\/com\.signwatch\.agent is not loaded \(launchctl print exit 113\)/);
    assert.match(by.get('parity')?.detail ?? '', /secret version vault-v42 ≠ fleet vault-v43/);
    assert.match(by.get('clock_offset')?.detail ?? '', /0\.906 ms is beyond 0 ms/);
  } finally {
    h.sb.cleanup();
  }
});

void test('ssh-command: sets the fleet search list, records the session with secrets scrubbed, passes the correlation id, exits with the command', async () => {
  const h = host();
  try {
    const out = join(h.sb.dir, 'corr');
    const env: NodeJS.ProcessEnv = {
      ...h.env,
      FAKE_SECURITY_LIST_KEYCHAINS: 'security-list-keychains__login-first-openjdk',
      GITHUB_RUN_ID: '4242',
      USER: 'ci',
      SSH_ORIGINAL_COMMAND: `API_TOKEN=abc123 sh -c 'printf "%s" "$SIGNWATCH_CORRELATION_ID" > ${out}; exit 3'`,
    };
    const r = await run(['agent', 'ssh-command'], env);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(readFileSync(out, 'utf8'), '4242', 'SIGNWATCH_CORRELATION_ID from the CI variables');
    const [ev] = spooled(h.sb.dataDir);
    allValid([ev!]);
    assert.equal(ev?.type, 'session');
    assert.equal(ev?.user, 'ci');
    assert.equal(ev?.outcome, 'exec');
    assert.equal(ev?.correlationId, '4242');
    assert.equal(ev?.command, `API_TOKEN=*** sh -c 'printf "%s" "$SIGNWATCH_CORRELATION_ID" > ${out}; exit 3'`);
    assert.deepEqual(ev?.searchListBefore, ['/Users/alexeysemenyuk/Library/Keychains/login.keychain-db', '/Library/Keychains/System.keychain']);
    assert.deepEqual(ev?.searchListAfter, [h.kc, '/Library/Keychains/System.keychain']);
    assert.ok(lines(h.argvLog).some((a) => a.join(' ') === `list-keychains -d user -s ${h.kc} /Library/Keychains/System.keychain`));

    const interactive = await run(['agent', 'ssh-command'], { ...h.env, USER: 'ci' });
    assert.equal(interactive.code, 1);
    assert.match(interactive.stderr, /interactive login refused for ci/);
    assert.equal(spooled(h.sb.dataDir).at(-1)?.outcome, 'refused');

    const block = await run(['agent', 'ssh-command', '--print-sshd-config', '--user', 'ci', '--bin', '/usr/local/signwatch/bin/signwatch', '--config', '/usr/local/etc/signwatch/agent.json'], h.env);
    assert.equal(block.code, 0);
    assert.match(block.stdout, /^Match User ci\n {4}ForceCommand \/usr\/local\/signwatch\/bin\/signwatch agent ssh-command --config \/usr\/local\/etc\/signwatch\/agent\.json$/m);
  } finally {
    h.sb.cleanup();
  }
});

void test('scrubCommand: password and token values are replaced, the rest is kept', () => {
  assert.equal(scrubCommand('security unlock-keychain -p hunter2 ci.keychain-db'), 'security unlock-keychain -p *** ci.keychain-db');
  assert.equal(scrubCommand(`security import a.p12 -k kc -P "two words" -T /usr/bin/codesign`), 'security import a.p12 -k *** -P *** -T /usr/bin/codesign');
  assert.equal(scrubCommand('fastlane beta --api-key=XYZ MATCH_PASSWORD=abc GITHUB_TOKEN=\'t k\' make'), 'fastlane beta --api-key=*** MATCH_PASSWORD=*** GITHUB_TOKEN=*** make');
  assert.equal(scrubCommand('xcodebuild -project App.xcodeproj -scheme App archive'), 'xcodebuild -project App.xcodeproj -scheme App archive');
});

void test('plistConfigArg reads the --config of the plist agent install prints', () => {
  const text = renderPlist({ label: 'com.signwatch.agent', node: '/n', bin: '/b', config: '/etc/a&b.json', logDir: '/l' });
  assert.equal(plistConfigArg(text).config, '/etc/a&b.json');
});

void test('rotate-after-leak: refuses without --yes; with it deletes, recreates, re-imports and runs the doctor, every step recorded in order', async () => {
  const h = host();
  try {
    await setUpReadyHost(h);
    const before = spooled(h.sb.dataDir).length;
    const p12 = join(h.sb.dir, 'rotated.p12');
    writeFileSync(p12, 'rotated pkcs12');
    const refused = await run(['agent', 'rotate-after-leak', '--p12', p12], h.env, { 3: `${KC_PW}\n`, 4: `${P12_PW}\n` });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refusing to delete the keychain without --yes/);
    assert.ok(existsSync(h.kc));
    assert.ok(!lines(h.argvLog).some((a) => a[0] === 'delete-keychain'));
    assert.equal(spooled(h.sb.dataDir).length, before, 'nothing happened, nothing recorded');

    const r = await run(['agent', 'rotate-after-leak', '--yes', '--p12', p12], h.env, { 3: `${KC_PW}\n`, 4: `${P12_PW}\n` });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /1\/4 deleted .*\n.*2\/4 recreated .*\n.*3\/4 imported 86890D67F234745572B7EF153C72DEA7CF522EDE/);
    assert.match(r.stdout, /READY: every check passed/);
    const events = spooled(h.sb.dataDir).slice(before);
    allValid(events);
    assert.deepEqual(
      events.filter((e) => e.type === 'acl').map((e) => `${String(e.command)}:${String(e.outcome)}`),
      ['rotate-after-leak:started', 'delete-keychain:ok', 'create-keychain:ok', 'set-keychain-settings:ok', 'import:ok', 'set-key-partition-list:ok', 'rotate-after-leak:ok'],
    );
    assert.equal(events.filter((e) => e.type === 'doctor').at(-1)?.ready, true);
    assertNoSecret(h, r.stdout, r.stderr);
  } finally {
    h.sb.cleanup();
  }
});

void test('every rollout command has --help (exit 0) and names the bad input on bad usage (exit 2)', async () => {
  const h = host();
  try {
    for (const sub of [['keychain', 'create'], ['identity', 'import'], ['ssh-command'], ['doctor'], ['rotate-after-leak']]) {
      const r = await run(['agent', ...sub, '--help'], h.env);
      assert.equal(r.code, 0, sub.join(' '));
      assert.match(r.stdout, /^Usage: signwatch agent /, sub.join(' '));
    }
    const bad = await run(['agent', 'identity', 'import', '--p12', 'x.p12', '--keychain', h.kc, '--identity', 'abc'], h.env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--identity abc: must be 40 upper-case hex digits/);
    assert.equal((await run(['agent', 'keychain', 'delete'], h.env)).code, 2);
    assert.equal((await run(['agent', 'doctor', '--sink', '-'], h.env)).code, 2);
  } finally {
    h.sb.cleanup();
  }
});

void test('fleet baseline: the strict majority of each host\'s newest heartbeat, this host excluded', () => {
  const hb = (host: string, ts: string, secretVersion: string, searchList = ['/k']) => ({ host, ts, wrapperSha256: 'a'.repeat(64), secretVersion, searchList });
  const b = baselineOf(
    [hb('h1', '2026-11-20T10:00:00.000Z', 'v1'), hb('h1', '2026-11-20T11:00:00.000Z', 'v2'), hb('h2', '2026-11-20T11:00:00.000Z', 'v2'), hb('h3', '2026-11-20T11:00:00.000Z', 'v1', ['/other']), hb('me', '2026-11-20T11:00:00.000Z', 'v9')],
    'me',
  );
  assert.deepEqual(b, { hosts: 3, wrapperSha256: 'a'.repeat(64), secretVersion: 'v2', searchList: ['/k'] });
  assert.deepEqual(baselineOf([hb('h1', 't', 'v1'), hb('h2', 't', 'v2')], 'me'), { hosts: 2, wrapperSha256: 'a'.repeat(64), searchList: ['/k'] }, 'a tie has no majority');
});

void test('doctor: with fleet.baselineUrl the wrapper and secret version come from the other hosts\' last heartbeats (event store API, bearer token from a file)', async () => {
  const token = 'doctor-test-token-0123456789';
  let auth: string | undefined;
  let query = '';
  const mine = wrapperSha256();
  const beats = ['mini-sg-01', 'mini-sg-02', 'mini-sg-03'].map((host, i) => ({ v: 1, type: 'heartbeat', host, region: 'SG', ts: '2026-11-20T11:00:00.000Z', wrapperSha256: mine, secretVersion: i < 2 ? 'vault-v43' : 'vault-v42' }));
  const server = createServer((req, res) => {
    auth = req.headers.authorization;
    query = req.url ?? '';
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ count: beats.length, events: beats }));
  });
  await new Promise<void>((r) => server.listen(19431, '127.0.0.1', r));
  const h = host({}, { baselineUrl: 'http://127.0.0.1:19431', baselineTokenFile: '/dev/null' });
  try {
    const tokenFile = join(h.sb.dir, 'query-token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const cfg = JSON.parse(readFileSync(h.sb.config, 'utf8')) as { fleet: Record<string, unknown> };
    delete cfg.fleet.secretVersion;
    cfg.fleet.baselineTokenFile = tokenFile;
    writeFileSync(h.sb.config, JSON.stringify(cfg));
    await setUpReadyHost(h);
    const r = await run(['agent', 'doctor', '--json'], h.env);
    assert.equal(r.code, 1, r.stdout);
    const parity = (JSON.parse(r.stdout) as { checks: { name: string; ok: boolean; detail: string }[] }).checks.find((c) => c.name === 'parity');
    assert.equal(parity?.ok, false);
    assert.equal(parity?.detail, "secret version vault-v42 ≠ fleet vault-v43 (majority of 3 hosts' last heartbeats where the config pins nothing)");
    assert.equal(auth, `Bearer ${token}`);
    assert.match(query, /^\/v1\/events\?type=heartbeat&since=2h&limit=100000$/);
  } finally {
    h.sb.cleanup();
    await new Promise((r) => server.close(r));
  }
});

void test('config: the fleet block has defaults and strict errors that name the key', () => {
  const c = parseConfig({ region: 'SG', keychain: '/k.keychain-db' });
  assert.deepEqual([c.fleet.searchList, c.fleet.maxClockOffsetMs, c.fleet.allowInteractiveSsh, c.fleet.launchdLabel], [[], 1000, false, 'com.signwatch.agent']);
  assert.match(c.fleet.launchdPlist, /Library\/LaunchAgents\/com\.signwatch\.agent\.plist$/);
  const bad = (fleet: unknown, re: RegExp) => assert.throws(() => parseConfig({ region: 'SG', fleet }), re);
  bad({ searchList: ['login.keychain-db'] }, /fleet\.searchList\[0\]: must be an absolute path/);
  bad({ nope: 1 }, /fleet\.nope: unknown key/);
  bad({ wrapperSha256: 'abc' }, /fleet\.wrapperSha256: must be 64 lower-case hex digits/);
  bad({ allowInteractiveSsh: 'yes' }, /fleet\.allowInteractiveSsh: must be true or false/);
  bad({ baselineUrl: 'query.internal' }, /fleet\.baselineUrl: must be an http\(s\) URL/);
  bad({ baselineTokenFile: 'token' }, /fleet\.baselineTokenFile: must be an absolute path/);
});
