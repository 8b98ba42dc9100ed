/**
 * Issue 16, item 4: `agent exec -- security set-key-partition-list -S apple: -sk PWXYZZY3` recorded the password as
 * the keychain (in the event and as a key of state.json). The arguments are now parsed exactly as security's getopt
 * does (BSD getopt(3) with set-key-partition-list's option string ":a:c:dD:ej:k:l:rsS:t:uvw", from Apple's
 * SecurityTool keychain_find.c, keychain_set_key_partition_list:
 * https://github.com/apple-oss-distributions/Security/blob/main/SecurityTool/macOS/keychain_find.c).
 *
 * The spellings of -k below are the ones public CI scripts use (found by searching public code for
 * `set-key-partition-list`), plus every spelling getopt accepts. Sources of the first ones:
 *   https://github.com/xamarin/xamarin-macios/blob/main/tools/devops/automation/scripts/bash/remove-ui-prompt.sh
 *   https://github.com/hetznercloud/cli/blob/main/script/decrypt_secrets.sh
 *   https://github.com/bcgov/mobile-signing-service/blob/master/scripts/mkc.sh
 *   https://github.com/WalletWasabi/WalletWasabi/blob/master/WalletWasabi.Packager/Content/Osx/addcert.sh
 *   https://github.com/EFPrefix/EFQRCode/blob/main/.github/scripts/import-certificate.sh
 *   https://github.com/fastlane/fastlane/blob/master/fastlane_core/lib/fastlane_core/keychain_importer.rb
 *   https://github.com/Apple-Actions/import-codesign-certs/blob/master/src/security.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getopt, parseSetKeyPartitionListArgs, SET_KEY_PARTITION_LIST_OPTS } from '../../../services/agent/macos/security.js';
import { validateEvent } from '../../../schemas/events.js';
import { cli, sandbox, spooled } from './helpers.js';

const PW = 'PWXYZZY3';
const KC = '/Users/ci/Library/Keychains/build.keychain-db';

/** [where it was seen, argv after `set-key-partition-list`, partition ids, keychain]. */
const SPELLINGS: [string, string[], string[], string | undefined][] = [
  ['xamarin-macios remove-ui-prompt.sh: -S ids -s -k "$PASS" login.keychain', ['-S', 'apple-tool:,apple:', '-s', '-k', PW, 'login.keychain'], ['apple-tool:', 'apple:'], 'login.keychain'],
  ['hetznercloud/cli, EFQRCode: empty password -k ""', ['-S', 'apple-tool:,apple:', '-s', '-k', '', KC], ['apple-tool:', 'apple:'], KC],
  ['bcgov mkc.sh: codesign: partition, unquoted -k $1', ['-S', 'apple-tool:,apple:,codesign:', '-s', '-k', PW, 'cicd.keychain'], ['apple-tool:', 'apple:', 'codesign:'], 'cicd.keychain'],
  ['fastlane / Apple-Actions: no -s', ['-S', 'apple-tool:,apple:', '-k', PW, KC], ['apple-tool:', 'apple:'], KC],
  ['-k before -S (public script: -k ${kcp} -S … -s ${keychain})', ['-k', PW, '-S', 'apple-tool:,apple:,codesign:', '-s', KC], ['apple-tool:', 'apple:', 'codesign:'], KC],
  ['label before -k (GitHub Action comment: -s -l <name> -k <pw> <kc>)', ['-S', 'apple-tool:,apple:', '-s', '-l', 'Developer ID Application: X (ABCDE12345)', '-k', PW, KC], ['apple-tool:', 'apple:'], KC],
  ['-t private (public docs: -s -t private -k "<pw>" <kc>)', ['-S', 'apple-tool:,apple:', '-s', '-t', 'private', '-k', PW, KC], ['apple-tool:', 'apple:'], KC],
  ['apple: only', ['-S', 'apple:', '-s', '-k', PW, KC], ['apple:'], KC],
  ['no keychain operand: the default search list', ['-S', 'apple-tool:,apple:', '-s', '-k', PW], ['apple-tool:', 'apple:'], undefined],
  // every other spelling getopt accepts
  ['the review: -sk PW (combined flags, value in the next word)', ['-S', 'apple:', '-sk', PW], ['apple:'], undefined],
  ['-sk PW with a keychain', ['-S', 'apple:', '-sk', PW, KC], ['apple:'], KC],
  ['-skPW (value attached to combined flags)', ['-S', 'apple:', `-sk${PW}`, KC], ['apple:'], KC],
  ['-kPW (value attached)', ['-S', 'apple:', `-k${PW}`, KC], ['apple:'], KC],
  ['-Sids attached, -dsk PW', ['-Sapple-tool:,apple:', '-dsk', PW, KC], ['apple-tool:', 'apple:'], KC],
  ['-sSids (an option taking a value after a flag)', ['-sSapple:', '-k', PW, KC], ['apple:'], KC],
  ['-k eats the next word whatever it looks like (-k -S → password "-S")', ['-k', '-S', 'apple:', KC], [], undefined],
  ['-- ends the options', ['-S', 'apple:', '-k', PW, '--', KC], ['apple:'], KC],
  ['the last -S wins', ['-S', 'x:', '-S', 'apple:', '-k', PW, KC], ['apple:'], KC],
];

void test('issue 16 item 4: every spelling of -k in public CI scripts (and all getopt accepts): ids and keychain right, password never returned', () => {
  for (const [where, args, ids, keychain] of SPELLINGS) {
    const p = parseSetKeyPartitionListArgs(args);
    assert.deepEqual(p.partitionIds, ids, where);
    assert.equal(p.keychain, keychain, where);
    assert.equal(p.passwordGiven, true, where);
    assert.ok(!JSON.stringify(p).includes(PW), `${where}: the password is not in the result`);
  }
});

void test('issue 16 item 4: getopt stops at the first operand, a lone "-" or after "--" (BSD: no permutation); unknown letters are reported', () => {
  const g = getopt(['-s', KC, '-k', PW], SET_KEY_PARTITION_LIST_OPTS);
  assert.deepEqual(g.options, [{ opt: 's' }]);
  assert.deepEqual(g.operands, [KC, '-k', PW]);
  // several operands: security refuses (usage, exit 2); no keychain is taken from them, least of all the password
  assert.equal(parseSetKeyPartitionListArgs(['-s', KC, '-k', PW]).keychain, undefined);
  assert.deepEqual(getopt(['-', '-k', PW], SET_KEY_PARTITION_LIST_OPTS).operands, ['-', '-k', PW]);
  assert.deepEqual(getopt(['-sz', '-k'], SET_KEY_PARTITION_LIST_OPTS), { options: [{ opt: 's' }, { opt: 'k' }], operands: [], unknown: ['z'] }, '-k with no value: security prompts');
  assert.deepEqual(parseSetKeyPartitionListArgs(['-S', 'apple:', '-s', KC]), { partitionIds: ['apple:'], keychain: KC, passwordGiven: false });
});

void test('issue 16 item 4: agent exec -- security set-key-partition-list -S apple: -sk PW: the password is in no event and not in state.json', () => {
  const sb = sandbox({ keychain: KC });
  try {
    for (const args of [['-S', 'apple:', '-sk', PW], ['-S', 'apple:', `-sk${PW}`, KC], ['-k', PW, '-S', 'apple:', '-s', KC]]) {
      const r = cli(['agent', 'exec', '--', 'security', 'set-key-partition-list', ...args], sb.env);
      assert.equal(r.status, 0, r.stderr.toString());
    }
    const events = spooled(sb.dataDir);
    assert.equal(events.length, 3);
    for (const ev of events) {
      assert.ok(validateEvent(ev).ok);
      assert.equal(ev.type, 'acl');
      assert.equal(ev.keychain, KC);
      assert.deepEqual(ev.partitionIds, ['apple:']);
    }
    assert.ok(!JSON.stringify(events).includes(PW), 'not in any event');
    const state = readFileSync(join(sb.dataDir, 'state.json'), 'utf8');
    assert.ok(!state.includes(PW), 'not in state.json');
    assert.deepEqual(Object.keys((JSON.parse(state) as { partitionIds: Record<string, string[]> }).partitionIds), [KC]);
  } finally {
    sb.cleanup();
  }
});

void test('issue 16 item 4: exec --password-fd refuses a -k in any spelling (-sk, -kPW), not only a bare -k', () => {
  const sb = sandbox();
  try {
    for (const spelled of [['-sk', PW], [`-k${PW}`], [`-sk${PW}`]]) {
      const r = cli(['agent', 'exec', '--password-fd', '3', '--', 'security', 'set-key-partition-list', '-S', 'apple:', ...spelled, KC], sb.env);
      assert.equal(r.status, 2, spelled.join(' '));
      assert.match(r.stderr.toString(), /--password-fd: remove '-k PASSWORD'/);
    }
  } finally {
    sb.cleanup();
  }
});
