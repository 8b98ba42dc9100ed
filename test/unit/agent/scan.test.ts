/**
 * `agent scan` / `agent clock` with the fake security and sntp. Certificates are real X.509, generated at test
 * time with `openssl req -x509` (Apple-like subjects, chosen expiry); `security find-certificate -a -p` prints them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateEvent } from '../../../schemas/events.js';
import { boundDebug, failureOf, MAX_DEBUG } from '../../../services/agent/clock.js';
import { cli, fixture, ndjson, sandbox } from './helpers.js';

function makeCert(dir: string, name: string, subject: string, days: number): { pem: string; sha1: string; notAfter: string } {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', crt, '-days', String(days), '-subj', subject], { stdio: 'ignore' });
  const fp = execFileSync('openssl', ['x509', '-in', crt, '-noout', '-fingerprint', '-sha1'], { encoding: 'utf8' });
  const end = execFileSync('openssl', ['x509', '-in', crt, '-noout', '-enddate'], { encoding: 'utf8' });
  return {
    pem: readFileSync(crt, 'utf8'),
    sha1: (fp.split('=')[1] ?? '').trim().replace(/:/g, ''),
    notAfter: new Date((end.split('=')[1] ?? '').trim()).toISOString(),
  };
}

void test('scan: cert events from real PEMs, heartbeat with search list, identities, teams and parity; state cached', () => {
  const sb = sandbox({ secretVersion: 'vault-v42', keychain: '/Users/travis/Library/Keychains/[secure]-db' });
  try {
    const certs = join(sb.dir, 'certs');
    mkdirSync(certs);
    const dist = makeCert(sb.dir, 'dist', '/CN=Apple Distribution: Example Corp (ABCDE12345)/OU=ABCDE12345/O=Example Corp/C=US', 10);
    const devid = makeCert(sb.dir, 'devid', '/CN=Developer ID Application: Example Corp (ABCDE12345)/OU=ABCDE12345/O=Example Corp/C=US', 400);
    const ca = makeCert(sb.dir, 'ca', '/CN=Apple Worldwide Developer Relations Certification Authority/OU=G3/O=Apple Inc./C=US', 900);
    writeFileSync(join(certs, '[secure]-db.pem'), dist.pem + devid.pem);
    writeFileSync(join(certs, 'System.keychain.pem'), ca.pem);
    // find-identity -v output in the recorded format (security-find-identity-v-p-codesigning__apple-actions-fixture.txt)
    const ids = join(sb.dir, 'find-identity.txt');
    writeFileSync(ids, `  1) ${dist.sha1} "Apple Distribution: Example Corp (ABCDE12345)"\n  2) ${devid.sha1} "Developer ID Application: Example Corp (ABCDE12345)"\n     2 valid identities found\n`);
    const out = join(sb.dir, 'events.ndjson');
    const env = { ...sb.env, FAKE_SECURITY_CERTS_DIR: certs, FAKE_SECURITY_FIND_IDENTITY: ids };
    const r = cli(['agent', 'scan', '--sink', `ndjson:${out}`], env);
    assert.equal(r.status, 0, r.stderr.toString());
    const events = ndjson(out);
    for (const e of events) assert.equal(validateEvent(e).ok, true, JSON.stringify(validateEvent(e)));
    const certEvents = events.filter((e) => e.type === 'cert');
    assert.deepEqual(
      certEvents.map((e) => [e.sha1, e.subject, e.teamId, e.certKind, e.notAfter, e.keychain]),
      [
        [dist.sha1, 'Apple Distribution: Example Corp (ABCDE12345)', 'ABCDE12345', 'Apple Distribution', dist.notAfter, '/Users/travis/Library/Keychains/[secure]-db'],
        [devid.sha1, 'Developer ID Application: Example Corp (ABCDE12345)', 'ABCDE12345', 'Developer ID Application', devid.notAfter, '/Users/travis/Library/Keychains/[secure]-db'],
      ],
      'signing certificates only (the CA in System.keychain is not one)',
    );
    const days = (Date.parse(String(certEvents[0]?.notAfter)) - Date.now()) / 86_400_000;
    assert.ok(days > 9 && days <= 10.01, `expiry as chosen (${days})`);
    const hb = events.find((e) => e.type === 'heartbeat');
    assert.ok(hb);
    assert.deepEqual(hb.searchList, ['/Users/travis/Library/Keychains/[secure]-db', '/Library/Keychains/System.keychain']);
    assert.deepEqual(hb.identities, [dist.sha1, devid.sha1]);
    assert.deepEqual(hb.teamIds, ['ABCDE12345']);
    assert.equal(hb.secretVersion, 'vault-v42');
    assert.match(String(hb.wrapperSha256), /^[0-9a-f]{64}$/);
    assert.equal(hb.spoolDepth, 0);
    assert.equal(hb.spoolDropped, 0);
    const state = JSON.parse(readFileSync(join(sb.dataDir, 'state.json'), 'utf8')) as { searchList: string[]; identities: { sha1: string }[] };
    assert.deepEqual(state.identities.map((i) => i.sha1), [dist.sha1, devid.sha1]);
    // parity: same set-up → same fingerprint; another secret version → another fingerprint
    cli(['agent', 'scan', '--sink', `ndjson:${out}`], env);
    writeFileSync(sb.config, JSON.stringify({ region: 'SG', dataDir: sb.dataDir, secretVersion: 'vault-v43', keychain: '/Users/travis/Library/Keychains/[secure]-db' }));
    cli(['agent', 'scan', '--sink', `ndjson:${out}`], env);
    const parities = ndjson(out).filter((e) => e.type === 'heartbeat').map((e) => e.paritySha256);
    assert.equal(parities[0], parities[1]);
    assert.notEqual(parities[1], parities[2]);
  } finally {
    sb.cleanup();
  }
});

void test('scan: a revoked identity marks its cert event revoked; heartbeat certSha1s inventory and notaryProfile', () => {
  const sb = sandbox({ keychain: '/Users/travis/Library/Keychains/[secure]-db' });
  try {
    const certs = join(sb.dir, 'certs');
    mkdirSync(certs);
    const old = makeCert(sb.dir, 'old', '/CN=Developer ID Application: Example Corp (ABCDE12345)/OU=ABCDE12345/O=Example Corp/C=US', 300);
    const cur = makeCert(sb.dir, 'cur', '/CN=Developer ID Application: Example Corp (ABCDE12345)/OU=ABCDE12345/O=Example Corp/C=US', 700);
    writeFileSync(join(certs, '[secure]-db.pem'), old.pem + cur.pem);
    // the listing of the real capture security-find-identity-v-p-codesigning__revoked-weappcrack.txt (a revoked
    // identity is annotated, and still listed), with these certificates' hashes and names
    const ids = join(sb.dir, 'find-identity.txt');
    writeFileSync(ids, `  1) ${old.sha1} "Developer ID Application: Example Corp (ABCDE12345)" (CSSMERR_TP_CERT_REVOKED)\n  2) ${cur.sha1} "Developer ID Application: Example Corp (ABCDE12345)"\n     2 valid identities found\n`);
    const out = join(sb.dir, 'events.ndjson');
    const log = join(sb.dir, 'security.log');
    const env = { ...sb.env, FAKE_SECURITY_CERTS_DIR: certs, FAKE_SECURITY_FIND_IDENTITY: ids, FAKE_SECURITY_LOG: log };
    assert.equal(cli(['agent', 'scan', '--sink', `ndjson:${out}`], env).status, 0);
    assert.ok(readFileSync(log, 'utf8').includes('["find-identity","-p","codesigning"]'), 'the listing with every identity and its annotation');
    let events = ndjson(out);
    for (const e of events) assert.ok(validateEvent(e).ok, JSON.stringify(validateEvent(e)));
    const bySha = new Map(events.filter((e) => e.type === 'cert').map((e) => [e.sha1, e]));
    assert.equal(bySha.get(old.sha1)?.revoked, true);
    assert.equal(bySha.get(cur.sha1)?.revoked, undefined);
    let hb = events.find((e) => e.type === 'heartbeat');
    assert.deepEqual(hb?.identities, [cur.sha1], 'only valid identities count as identities');
    assert.deepEqual(hb?.certSha1s, [old.sha1, cur.sha1].sort(), 'the inventory lists every certificate, revoked or not');
    assert.equal(hb?.notaryProfile, undefined, 'no notarization seen yet');
    const state = JSON.parse(readFileSync(join(sb.dataDir, 'state.json'), 'utf8')) as { identities: { sha1: string; trust?: string }[] };
    assert.deepEqual(state.identities.map((i) => [i.sha1, i.trust]), [[old.sha1, 'CSSMERR_TP_CERT_REVOKED'], [cur.sha1, undefined]]);

    // the profile a notarization used is the host's notaryProfile from then on
    cli(['agent', 'exec', '--', 'xcrun', 'notarytool', 'submit', 'App.zip', '--wait', '--keychain-profile', 'asc-sg'], { ...env, FAKE_NOTARYTOOL: 'notarytool-submit-wait-json__invalid.json' });
    // the revoked certificate is removed from the keychain: the inventory no longer lists it
    writeFileSync(join(certs, '[secure]-db.pem'), cur.pem);
    writeFileSync(ids, `  1) ${cur.sha1} "Developer ID Application: Example Corp (ABCDE12345)"\n     1 valid identities found\n`);
    assert.equal(cli(['agent', 'scan', '--sink', `ndjson:${out}`], env).status, 0);
    events = ndjson(out);
    hb = events.filter((e) => e.type === 'heartbeat')[1];
    assert.ok(hb && validateEvent(hb).ok);
    assert.deepEqual([hb.certSha1s, hb.notaryProfile], [[cur.sha1], 'asc-sg']);

    // a keychain that cannot be read: no inventory (a partial one would say every certificate left)
    const r = cli(['agent', 'scan', '--sink', `ndjson:${out}`], { ...env, FAKE_SECURITY_FAIL: 'find-certificate' });
    assert.equal(r.status, 0);
    assert.match(r.stderr.toString(), /find-certificate .*: security: find-certificate: The specified keychain could not be found\./);
    hb = ndjson(out).filter((e) => e.type === 'heartbeat')[2];
    assert.ok(hb && validateEvent(hb).ok);
    assert.equal(hb.certSha1s, undefined);
    assert.equal(hb.notaryProfile, 'asc-sg');
  } finally {
    sb.cleanup();
  }
});

void test('clock: the real sntp line becomes an ok clock event; every failure capture becomes a fail event with its reason, exit 1', () => {
  const sb = sandbox();
  try {
    const out = join(sb.dir, 'clock.ndjson');
    assert.equal(cli(['agent', 'clock', '--sink', `ndjson:${out}`], sb.env).status, 0);
    const failures: [string, RegExp][] = [
      ['sntp__timeout-clock-select-failed', /^timeout: Timeout; Clock select failed$/],
      ['sntp__dns-lookup-failure', /^dns: DNS lookup failure$/],
      ['sntp-d__kiss-of-death', /^kiss_of_death: Kiss of death$/],
      ['sntp__server-not-synchronized', /^not_synchronized: Server not synchronized$/],
      ['sntp__recv-failure', /^failed: recv failure$/],
    ];
    for (const [f] of failures) {
      const r = cli(['agent', 'clock', '--server', 'time.apple.com', '--sink', `ndjson:${out}`], { ...sb.env, FAKE_SNTP: f });
      assert.equal(r.status, 1, f);
      assert.match(r.stderr.toString(), /sntp failed \((timeout|dns|kiss_of_death|not_synchronized|failed):/);
    }
    const events = ndjson(out);
    assert.equal(events.length, 1 + failures.length, 'a failed probe is recorded, not dropped');
    for (const e of events) assert.ok(validateEvent(e).ok, JSON.stringify(validateEvent(e)));
    assert.deepEqual([events[0]?.outcome, events[0]?.offsetMs, events[0]?.server], ['ok', 0.906, 'ntp.nict.jp']);
    failures.forEach(([f, reason], i) => {
      const e = events[i + 1] ?? {};
      assert.deepEqual([e.type, e.outcome, e.server, e.offsetMs, e.debug], ['clock', 'fail', 'time.apple.com', undefined, undefined], f);
      assert.match(String(e.reason), reason, f);
    });
  } finally {
    sb.cleanup();
  }
});

void test('clock --debug: runs sntp -d and records the debug block in the event (ok and fail)', () => {
  const sb = sandbox();
  try {
    const out = join(sb.dir, 'clock.ndjson');
    const log = join(sb.dir, 'sntp.log');
    const env = { ...sb.env, FAKE_SNTP_LOG: log };
    assert.equal(cli(['agent', 'clock', '--debug', '--sink', `ndjson:${out}`], { ...env, FAKE_SNTP: 'sntp-d__success-first-exchange' }).status, 0);
    assert.equal(cli(['agent', 'clock', '--debug', '--server', '192.168.176.2', '--sink', `ndjson:${out}`], { ...env, FAKE_SNTP: 'sntp-d__timeout-clock-select-failed' }).status, 1);
    assert.equal(cli(['agent', 'clock', '--sink', `ndjson:${out}`], env).status, 0);
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['-d time.apple.com', '-d 192.168.176.2', 'time.apple.com']);
    const [ok, fail, plain] = ndjson(out);
    for (const e of [ok, fail, plain]) assert.ok(e && validateEvent(e).ok, JSON.stringify(e));
    assert.deepEqual([ok?.outcome, ok?.offsetMs, ok?.server], ['ok', 308.926, '192.168.4.2']);
    assert.equal(ok?.debug, fixture('sntp-d__success-first-exchange.txt'));
    assert.deepEqual([fail?.outcome, fail?.server, fail?.reason], ['fail', '192.168.176.2', 'timeout: Timeout; Clock select failed']);
    assert.equal(fail?.debug, fixture('sntp-d__timeout-clock-select-failed.txt'));
    assert.equal(plain?.debug, undefined, 'no debug block without --debug');
  } finally {
    sb.cleanup();
  }
});

void test('clock: failure reasons when sntp prints nothing we know, and the debug bound', () => {
  const unparsed = { ok: false as const, reason: 'no output', code: 'unparsed' as const };
  assert.deepEqual(failureOf({ code: 0, stdout: '', stderr: '' }, unparsed), { code: 'no_offset', reason: 'no_offset: no output' });
  assert.deepEqual(failureOf({ code: 69, stdout: '', stderr: '' }, unparsed), { code: 'exit 69', reason: 'exit 69: no output' });
  assert.equal(failureOf({ code: 127, stdout: '', stderr: 'sntp: ENOENT', spawnError: 'ENOENT' }, unparsed).code, 'not_found');
  assert.equal(failureOf({ code: 127, stdout: '', stderr: '', timedOut: true }, unparsed).code, 'timeout');
  const block = fixture('sntp-d__timeout-clock-select-failed.txt');
  const long = block.repeat(40); // > 16 KiB: sntp -d against many addresses
  const b = boundDebug(long);
  assert.equal(b.length, MAX_DEBUG);
  assert.ok(b.startsWith(block.slice(0, 200)) && b.endsWith(block.slice(-200)), 'head and tail kept');
  const m = /\n… \[(\d+) characters cut\] …\n/.exec(b);
  assert.ok(m, 'a marker says text was cut');
  assert.equal(b.length - m[0].length + Number(m[1]), long.length, 'the marker counts what was cut');
  assert.equal(boundDebug(block), block);
});
