/**
 * The unlock helper: the password comes from FD 3 and never appears in any process's argv (read from
 * /proc/<pid>/cmdline of every process while the fake `security` runs), nor in output, events, spool or logs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateEvent } from '../../../schemas/events.js';
import { quoteForSecurity } from '../../../services/agent/commands/unlock.js';
import { cliAsync, fixture, sandbox, spooled } from './helpers.js';

// spaces, quotes, a backslash, shell and regex metacharacters: everything security -i's split_line must keep
const PASSWORD = `c0rr3ct "horse" b\\attery $(staple) 'x' *?`;

function allCmdlines(): Map<number, string> {
  const out = new Map<number, string>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      out.set(Number(d), readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' '));
    } catch {
      /* exited */
    }
  }
  return out;
}

function readTree(dir: string): string {
  let text = '';
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) text += readFileSync(join(e.parentPath, e.name), 'utf8');
  }
  return text;
}

void test('password never in any argv while security runs, nor in output, events, spool or logs', async () => {
  const sb = sandbox();
  try {
    const pwFile = join(sb.dir, 'expected-pw');
    writeFileSync(pwFile, PASSWORD);
    const log = join(sb.dir, 'security-argv.log');
    const env = { ...sb.env, FAKE_SECURITY_PASSWORD_FILE: pwFile, FAKE_SECURITY_DELAY_MS: '700', FAKE_SECURITY_LOG: log };
    let sawSecurity = false;
    let leaks: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        for (const [pid, cmd] of allCmdlines()) {
          if (cmd.includes('fake-macos/security.js')) sawSecurity = true;
          if (cmd.includes('staple') || cmd.includes('c0rr3ct')) leaks.push(`${pid}: ${cmd}`);
        }
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    const ok = await cliAsync(['agent', 'unlock', '--keychain', '/Users/ci/Library/Keychains/signing.keychain-db'], env, { fd3: `${PASSWORD}\n` });
    const bad = await cliAsync(['agent', 'unlock', '--keychain', '/Users/ci/Library/Keychains/signing.keychain-db'], env, { fd3: 'not-it\n' });
    polling = false;
    await poller;
    leaks = leaks.filter((l) => !l.includes('node --test')); // the test runner itself never gets it either, but be precise
    assert.ok(sawSecurity, 'the fake security was observed running');
    assert.deepEqual(leaks, []);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(bad.code, 51, 'wrong password: errSecAuthFailed low byte');
    assert.equal(bad.stderr, 'security: SecKeychainUnlock /Users/ci/Library/Keychains/signing.keychain-db: The user name or passphrase you entered is not correct.\nunlock-keychain: returned -25293\n');
    const argvs = readFileSync(log, 'utf8').trim().split('\n');
    assert.deepEqual(argvs, ['["-i"]', '["-i"]'], 'security only ever got -i on its command line');
    const [e1, e2] = spooled(sb.dataDir);
    assert.ok(e1 && e2 && validateEvent(e1).ok && validateEvent(e2).ok);
    assert.deepEqual([e1.type, e1.outcome, e1.keychain], ['unlock', 'ok', '/Users/ci/Library/Keychains/signing.keychain-db']);
    assert.ok(typeof e1.durationMs === 'number' && e1.durationMs >= 700, 'latency measured around security');
    assert.equal(e2.outcome, 'fail');
    assert.deepEqual([(e2.error as { code: string }).code, (e2.error as { osStatus: number }).osStatus], ['errSecAuthFailed', -25293]);
    for (const text of [ok.stdout, ok.stderr, bad.stdout, bad.stderr, readTree(sb.dataDir)]) {
      assert.ok(!text.includes('staple') && !text.includes('c0rr3ct'), 'no trace of the password');
    }
  } finally {
    sb.cleanup();
  }
});

void test('no password on FD 3 is bad usage (exit 2); --keychain is required', async () => {
  const sb = sandbox();
  try {
    const r = await cliAsync(['agent', 'unlock', '--keychain', '/k.keychain-db'], sb.env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no password on file descriptor 3/);
    const k = await cliAsync(['agent', 'unlock'], sb.env, { fd3: 'x' });
    assert.equal(k.code, 2);
    assert.match(k.stderr, /--keychain PATH is required/);
    const two = await cliAsync(['agent', 'unlock', '--keychain', '/k'], sb.env, { fd3: 'a\nb\n' });
    assert.equal(two.code, 2);
    assert.deepEqual(spooled(sb.dataDir), []);
  } finally {
    sb.cleanup();
  }
});

void test('quoting for security -i', () => {
  assert.equal(quoteForSecurity('a "b" \\c'), '"a \\"b\\" \\\\c"');
});

void test('exec --password-fd: set-key-partition-list without the password in any argv, output unchanged', async () => {
  const sb = sandbox();
  try {
    const pwFile = join(sb.dir, 'expected-pw');
    writeFileSync(pwFile, PASSWORD);
    const log = join(sb.dir, 'security-argv.log');
    const env = { ...sb.env, FAKE_SECURITY_PASSWORD_FILE: pwFile, FAKE_SECURITY_DELAY_MS: '500', FAKE_SECURITY_LOG: log };
    const leaks: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        for (const [pid, cmd] of allCmdlines()) if (cmd.includes('staple') || cmd.includes('c0rr3ct')) leaks.push(`${pid}: ${cmd}`);
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    const args = ['agent', 'exec', '--password-fd', '3', '--', 'security', 'set-key-partition-list', '-S', 'apple-tool:,apple:', '-s', '/Users/ci/signing.keychain-db'];
    const ok = await cliAsync(args, env, { fd3: `${PASSWORD}\n` });
    const bad = await cliAsync(args, env, { fd3: 'wrong\n' });
    polling = false;
    await poller;
    assert.deepEqual(leaks, []);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, fixture('security-set-key-partition-list__stdout-travis-ci.txt'));
    assert.equal(ok.stderr, '');
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, fixture('security-set-key-partition-list__wrong-password.txt'), 'same bytes as the direct call (no "returned" trailer)');
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['["-q","-i"]', '["-q","-i"]']);
    const events = spooled(sb.dataDir);
    assert.deepEqual(events.map((e) => [e.type, e.outcome, e.keychain]), [['acl', 'ok', '/Users/ci/signing.keychain-db'], ['acl', 'fail', '/Users/ci/signing.keychain-db']]);
    assert.ok(!readTree(sb.dataDir).includes('staple'));
    const withK = await cliAsync(['agent', 'exec', '--password-fd', '3', '--', 'security', 'set-key-partition-list', '-k', 'x', 'kc'], env, { fd3: 'x' });
    assert.equal(withK.code, 2);
    const notAcl = await cliAsync(['agent', 'exec', '--password-fd', '3', '--', 'codesign', '-s', 'x', 'y'], env, { fd3: 'x' });
    assert.equal(notAcl.code, 2);
  } finally {
    sb.cleanup();
  }
});

void test('a hung security is killed after unlockTimeoutMs: exit 1, unlock event with error timeout', async () => {
  const sb = sandbox({ unlockTimeoutMs: 300 });
  try {
    const r = await cliAsync(['agent', 'unlock', '--keychain', '/k.keychain-db'], { ...sb.env, FAKE_SECURITY_DELAY_MS: '5000' }, { fd3: 'pw\n' });
    assert.equal(r.code, 1);
    const [ev] = spooled(sb.dataDir);
    assert.ok(ev && validateEvent(ev).ok);
    assert.equal(ev.outcome, 'fail');
    assert.equal((ev.error as { code: string }).code, 'timeout');
    assert.ok(Number(ev.durationMs) >= 300 && Number(ev.durationMs) < 4000);
  } finally {
    sb.cleanup();
  }
});
