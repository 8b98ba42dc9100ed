/**
 * Issue 16, item 7: a line sent to `security -i` longer than its 4096-byte line buffer is cut, and the remainder is
 * read as a second command. `agent unlock` never checked; `agent exec --password-fd` counted UTF-16 units. A
 * 4000-byte password of quotes and '€' becomes 5-8 kB once quoted: both now refuse (exit 2) before anything runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SECURITY_LINE_MAX_BYTES, securityLine } from '../../../services/agent/commands/unlock.js';
import { cliAsync, sandbox, spooled } from './helpers.js';

// 4000 bytes raw (the FD 3 limit), 1000 '"' (2 bytes quoted) and 1000 '€' (3 bytes): 5000+ bytes on the line,
// although only 3000 UTF-16 units: the old exec check let it through
const QUOTES_AND_EUROS = '"€'.repeat(1000);

void test('issue 16 item 7: the limit is checked on the escaped UTF-8 bytes, newline included', () => {
  const fits = 'a'.repeat(SECURITY_LINE_MAX_BYTES - 1);
  assert.equal(securityLine('t', fits), `${fits}\n`);
  assert.throws(() => securityLine('t', `${fits}a`), /t: the command for 'security -i' would be 4096 bytes once quoted .* over its 4095-byte line limit/);
  const euros = '€'.repeat(1400); // 1400 UTF-16 units, 4200 bytes
  assert.throws(() => securityLine('t', euros), /would be 4201 bytes/);
  assert.ok(!(() => {
    try {
      securityLine('t', `secret${euros}`);
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  })().includes('secret'), 'the message never holds the line');
});

void test('issue 16 item 7: agent unlock refuses a password whose quoted line exceeds 4095 bytes, before running security', async () => {
  const sb = sandbox();
  try {
    const log = join(sb.dir, 'security-argv.log');
    const env = { ...sb.env, FAKE_SECURITY_LOG: log };
    const kc = '/Users/ci/Library/Keychains/signing.keychain-db';
    const r = await cliAsync(['agent', 'unlock', '--keychain', kc], env, { fd3: `${QUOTES_AND_EUROS}\n` });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^signwatch agent unlock: the command for 'security -i' would be \d+ bytes once quoted/);
    assert.ok(!r.stderr.includes('€'), 'the password is not echoed');
    assert.equal(existsSync(log), false, 'security never ran');
    assert.deepEqual(spooled(sb.dataDir), []);
    // a long password that fits still unlocks
    const pwFile = join(sb.dir, 'pw');
    const fits = 'p'.repeat(3900);
    writeFileSync(pwFile, fits);
    const ok = await cliAsync(['agent', 'unlock', '--keychain', kc], { ...env, FAKE_SECURITY_PASSWORD_FILE: pwFile }, { fd3: `${fits}\n` });
    assert.equal(ok.code, 0, ok.stderr);
  } finally {
    sb.cleanup();
  }
});

void test('issue 16 item 7: agent exec --password-fd counts bytes, not UTF-16 units', async () => {
  const sb = sandbox();
  try {
    const log = join(sb.dir, 'security-argv.log');
    const r = await cliAsync(['agent', 'exec', '--password-fd', '3', '--', 'security', 'set-key-partition-list', '-S', 'apple-tool:,apple:', '-s', '/k.keychain-db'], { ...sb.env, FAKE_SECURITY_LOG: log }, { fd3: `${QUOTES_AND_EUROS}\n` });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^signwatch agent exec: --password-fd: the command for 'security -i' would be \d+ bytes once quoted/);
    assert.equal(existsSync(log), false, 'security never ran');
  } finally {
    sb.cleanup();
  }
});
