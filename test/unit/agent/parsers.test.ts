/** security / notarytool / sntp parsers, one test per recorded capture (services/demo/fake-macos/fixtures). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseFindIdentity, parseKeychainList, parsePartitionIds, parseSecurityStderr, parseSetKeyPartitionListArgs,
} from '../../../services/agent/macos/security.js';
import { classifyNotaryError, outcomeOfStatus, parseNotaryOutput } from '../../../services/agent/macos/notarytool.js';
import { parseSntp, parseSntpBlocks } from '../../../services/agent/macos/sntp.js';
import { exitByteOf } from '../../../services/agent/macos/secbase.js';
import { fixture, fixtureNames } from './helpers.js';

void test('find-identity: Travis capture without -v (two sections, deduplicated, all valid)', () => {
  const ids = parseFindIdentity(fixture('security-find-identity-p-codesigning__travis-ci.txt'));
  assert.deepEqual(ids.map((i) => [i.sha1, i.name, i.valid, i.teamId]), [
    ['86890D67F234745572B7EF153C72DEA7CF522EDE', 'iPhone Distribution: Tien Le (QG598U658S)', true, 'QG598U658S'],
    ['13F9C39BE0072902F6A60AF738F51BE53E3A8B23', 'iPhone Developer: Tien Le (8PKL73LX5A)', true, '8PKL73LX5A'],
  ]);
});

void test('find-identity -v: Apple-Actions fixture (4 identities, one team)', () => {
  const ids = parseFindIdentity(fixture('security-find-identity-v-p-codesigning__apple-actions-fixture.txt'));
  assert.equal(ids.length, 4);
  assert.ok(ids.every((i) => i.valid && i.teamId === 'ABCDE12345' && i.sha1 !== undefined));
  assert.equal(ids[3]?.name, '3rd Party Mac Developer Installer: Example Org (ABCDE12345)');
});

void test('find-identity -v: two identities with the same name (1-space indent) keep both hashes', () => {
  const ids = parseFindIdentity(fixture('security-find-identity-v-p-codesigning__two-same-name.txt'));
  assert.deepEqual(ids.map((i) => i.sha1), ['3F60B8D9578EAEF1E13A7EEC1394D4CE34139555', '7952E8BC89E7BF5FCED31AF352783B7A34FADC0D']);
});

void test('find-identity -v: zero valid identities', () => {
  assert.deepEqual(parseFindIdentity(fixture('security-find-identity-v-p-codesigning__zero-valid.txt')), []);
});

void test('find-identity: a revoked identity (real -v listing) is annotated, not valid, and keeps its SHA-1', () => {
  const ids = parseFindIdentity(fixture('security-find-identity-v-p-codesigning__revoked-weappcrack.txt'));
  assert.deepEqual(ids, [{ hash: '8ED1967EFED619841FCF9DA4B08B6EAB5E58FD1B', sha1: '8ED1967EFED619841FCF9DA4B08B6EAB5E58FD1B', name: 'xxxxxxxxxxx', trust: 'CSSMERR_TP_CERT_REVOKED', valid: false }]);
});

void test('find-identity: redacted / truncated hashes are kept as names but never reported as SHA-1', () => {
  const red = parseFindIdentity(fixture('security-find-identity-v-p-codesigning__one-valid-redacted.txt'));
  assert.equal(red.length, 1);
  assert.equal(red[0]?.sha1, undefined);
  const nt = parseFindIdentity(fixture('security-find-identity-p-codesigning__not-trusted-truncated-hash.txt'));
  assert.equal(nt[0]?.trust, 'CSSMERR_TP_NOT_TRUSTED');
  assert.equal(nt[0]?.valid, false);
  assert.equal(nt[0]?.sha1, undefined);
});

void test('list-keychains: Travis capture and system-only capture', () => {
  assert.deepEqual(parseKeychainList(fixture('security-list-keychains__travis-ci.txt')), ['/Users/travis/Library/Keychains/[secure]-db', '/Library/Keychains/System.keychain']);
  assert.deepEqual(parseKeychainList(fixture('security-list-keychains__system-only.txt')), ['/Library/Keychains/System.keychain']);
});

void test('security stderr: SecBase texts map back to OSStatus', () => {
  const cases: [string, string, number, string | undefined][] = [
    ['security-set-key-partition-list__wrong-password.txt', 'errSecAuthFailed', -25293, undefined],
    ['security-add-internet-password__auth-failed-NULL.txt', 'errSecAuthFailed', -25293, '<NULL>'],
    ['security-default-keychain__no-default.txt', 'errSecNoDefaultKeychain', -25307, undefined],
    ['security-find-generic-password__item-not-found.txt', 'errSecItemNotFound', -25300, undefined],
  ];
  for (const [name, code, status, subject] of cases) {
    const e = parseSecurityStderr(fixture(name));
    assert.equal(e?.code, code, name);
    assert.equal(e?.osStatus, status, name);
    assert.equal(e?.subject, subject, name);
  }
  assert.equal(exitByteOf(-25293), 51);
  assert.equal(exitByteOf(-25300), 44);
});

void test('set-key-partition-list: partition ids and keychain from argv, never the -k password', () => {
  const p = parseSetKeyPartitionListArgs(['-S', 'apple-tool:,apple:,codesign:', '-s', '-k', 'hunter2', '/Users/ci/signing.keychain-db']);
  assert.deepEqual(p, { partitionIds: ['apple-tool:', 'apple:', 'codesign:'], keychain: '/Users/ci/signing.keychain-db', passwordGiven: true });
  assert.ok(!JSON.stringify(p).includes('hunter2'));
});

void test('dump-keychain -a: partition_id entry', () => {
  assert.deepEqual(parsePartitionIds(fixture('security-dump-keychain-a__partition_id-entry.txt')), ['apple-tool:']);
});

void test('security import / set-key-partition-list stdout fixtures exist (used by the fake)', () => {
  assert.match(fixture('security-import-p12__travis-ci.txt'), /^1 identity imported\.$/m);
  assert.equal((fixture('security-set-key-partition-list__stdout-travis-ci.txt').match(/^keychain: /gm) ?? []).length, 2);
});

const NOTARY: Record<string, { status?: string; outcome?: string; id?: string; error?: string }> = {
  'notarytool-submit-wait__invalid-wakatime-gha.txt': { status: 'Invalid', outcome: 'invalid', id: '2e388786-0fce-4db1-bec5-920c5283438c' },
  'notarytool-submit-wait__invalid-tail.txt': { status: 'Invalid', outcome: 'invalid' },
  'notarytool-submit-wait__accepted-db4s-placeholder-id.txt': { status: 'Accepted', outcome: 'accepted', id: '11111111-2222-3333-4444-555555555555' },
  'notarytool-submit-wait-json__invalid.json': { status: 'Invalid', outcome: 'invalid', id: '2e86ff68-c357-4f51-bc96-230d567f9dd6' },
  'notarytool-log-json__accepted-hostwright-recorded.json': { status: 'Accepted', outcome: 'accepted', id: '90a8e507-358a-47f6-97d9-7b9a31f573b5' },
  'notarytool-auth-401.txt': { error: 'auth' },
};

void test('every notarytool fixture has an expectation', () => {
  assert.deepEqual(fixtureNames('notarytool-'), Object.keys(NOTARY).sort());
});

for (const [name, want] of Object.entries(NOTARY)) {
  void test(`notarytool ${name}`, () => {
    const text = fixture(name);
    const isError = text.startsWith('Error:');
    const r = isError ? parseNotaryOutput('', text) : parseNotaryOutput(text, '');
    assert.equal(r.status, want.status);
    assert.equal(outcomeOfStatus(r.status), want.outcome);
    assert.equal(r.submissionId, want.id);
    if (want.error) {
      const f = classifyNotaryError(r.errorText ?? '');
      assert.equal(f.class, want.error);
      assert.equal(f.code, 'http_401');
      assert.equal(f.retryable, false, 'credential failures are never retried');
    }
  });
}

void test('notary errors: Apple API / network retryable, keychain never', () => {
  assert.deepEqual(classifyNotaryError('HTTP status code: 503. Service Unavailable'), { class: 'apple_api', code: 'http_503', retryable: true });
  assert.equal(classifyNotaryError('The Internet connection appears to be offline.').class, 'network');
  assert.equal(classifyNotaryError('No Keychain password item found for profile: ci').retryable, false);
  assert.equal(classifyNotaryError('No Keychain password item found for profile: ci').class, 'keychain');
  assert.equal(classifyNotaryError('User interaction is not allowed.').class, 'keychain');
});

void test('sntp: the real success line', () => {
  assert.deepEqual(parseSntp(fixture('sntp__success-ntp-nict.txt')), { ok: true, offsetMs: 0.906, errorMs: 22.017, server: 'ntp.nict.jp', address: '133.243.238.243' });
  const big = parseSntp('+472987.781619 +/- 0.022394 133.243.238.163 133.243.238.163\n');
  assert.equal(big.ok && big.offsetMs, 472987781.619);
});

void test('sntp: timeout then clock select failed', () => {
  assert.deepEqual(parseSntp(fixture('sntp__timeout-clock-select-failed.txt')), { ok: false, reason: 'Timeout; Clock select failed', code: 'timeout' });
});

void test('sntp -d: a Timeout exchange block carries an absurd offset that is never taken', () => {
  const text = fixture('sntp-d__timeout-clock-select-failed.txt');
  assert.deepEqual(parseSntpBlocks(text), [{ result: 6, resultText: 'Timeout', offset: -1953253560.921667576, addr: '192.168.176.2' }]);
  assert.deepEqual(parseSntp(text), { ok: false, reason: 'Timeout; Clock select failed', code: 'timeout' });
});

void test('sntp -d: the offset of a result-0 (Success) exchange block', () => {
  assert.deepEqual(parseSntp(fixture('sntp-d__success-first-exchange.txt')), { ok: true, offsetMs: 308.926, errorMs: 0, server: '192.168.4.2', address: '192.168.4.2' });
});

void test('sntp: "Server not synchronized" (result 9) has a plausible offset that must not be reported', () => {
  const text = fixture('sntp__server-not-synchronized.txt');
  assert.equal(parseSntpBlocks(text)[0]?.offset, -0.0007185);
  assert.deepEqual(parseSntp(text), { ok: false, reason: 'Server not synchronized', code: 'not_synchronized' });
});

void test('sntp: recv failure (a closed port) is a failure with sntp\'s words', () => {
  assert.deepEqual(parseSntp(fixture('sntp__recv-failure.txt')), { ok: false, reason: 'recv failure', code: 'failed' });
});

void test('sntp -d: a result line without its parenthesised text (node-ntp-sync#10 shape) still reads the number', () => {
  const kod = fixture('sntp-d__kiss-of-death.txt').replace('result: 8 (Kiss of death)', 'result: 8');
  assert.deepEqual(parseSntpBlocks(kod).map((b) => [b.result, b.resultText]), [[8, undefined]]);
  assert.equal(parseSntp(kod).ok, false);
});

void test('sntp: DNS lookup failure block', () => {
  const r = parseSntp(fixture('sntp__dns-lookup-failure.txt'));
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.code, 'dns');
});

void test('sntp -d: Kiss of death never yields its absurd offset', () => {
  const r = parseSntp(fixture('sntp-d__kiss-of-death.txt'));
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.code, 'kiss_of_death');
});
