/**
 * The agent's events against the engine rules that read them (issue 15): what `agent scan`, `agent clock` and
 * `agent notarize` record from the real captures (fake tools on PATH) must make cert_revoked, clock_unverified and
 * notary_apple_outage fire. A field the agent stops sending (revoked, outcome fail, attemptErrors) fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { validateEvent, type SignEvent } from '../../../schemas/events.js';
import { run } from '../engine/helpers.js';
import { cli, ndjson, sandbox } from './helpers.js';

function events(path: string): SignEvent[] {
  return ndjson(path).map((e) => {
    const r = validateEvent(e);
    assert.ok(r.ok, JSON.stringify(r));
    return r.event;
  });
}

void test('agent events → engine: a scanned revoked identity raises cert_revoked; failed sntp probes raise clock_unverified; retried 503s raise notary_apple_outage', () => {
  const sb = sandbox({ region: 'SG', keychain: '/Users/travis/Library/Keychains/[secure]-db', notarize: { maxAttempts: 8, baseDelayMs: 0, maxDelayMs: 0 } });
  try {
    const out = join(sb.dir, 'events.ndjson');
    // scan: one revoked identity (real listing shape: security-find-identity-v-p-codesigning__revoked-weappcrack.txt)
    const certs = join(sb.dir, 'certs');
    mkdirSync(certs);
    const key = join(sb.dir, 'k.key');
    const crt = join(sb.dir, 'c.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', crt, '-days', '200', '-subj', '/CN=Developer ID Application: Example Corp (ABCDE12345)/OU=ABCDE12345/O=Example Corp/C=US'], { stdio: 'ignore' });
    const sha1 = (execFileSync('openssl', ['x509', '-in', crt, '-noout', '-fingerprint', '-sha1'], { encoding: 'utf8' }).split('=')[1] ?? '').trim().replace(/:/g, '');
    writeFileSync(join(certs, '[secure]-db.pem'), readFileSync(crt, 'utf8'));
    const ids = join(sb.dir, 'ids.txt');
    writeFileSync(ids, `  1) ${sha1} "Developer ID Application: Example Corp (ABCDE12345)" (CSSMERR_TP_CERT_REVOKED)\n`);
    assert.equal(cli(['agent', 'scan', '--sink', `ndjson:${out}`], { ...sb.env, FAKE_SECURITY_CERTS_DIR: certs, FAKE_SECURITY_FIND_IDENTITY: ids }).status, 0);
    // clock: sntp times out (real capture)
    assert.equal(cli(['agent', 'clock', '--sink', `ndjson:${out}`], { ...sb.env, FAKE_SNTP: 'sntp__timeout-clock-select-failed' }).status, 1);
    // notarize: six Apple-side failures (HTTP 503, the synthetic shape of the real 401 line) then Accepted
    const list = [...Array<string>(6).fill('notarytool-http-503__synthetic.txt'), 'notarytool-submit-wait__accepted-db4s-placeholder-id.txt'].join(',');
    assert.equal(cli(['agent', 'notarize', '--sink', `ndjson:${out}`, 'App.zip'], { ...sb.env, FAKE_NOTARYTOOL: list, FAKE_NOTARYTOOL_STATE: join(sb.dir, 'calls') }).status, 0);

    const evs = events(out);
    const last = Math.max(...evs.map((e) => Date.parse(e.ts)));
    const { transitions } = run(evs, { until: last + 2 * 3600_000 });
    const firing = (alert: string) => transitions.filter((t) => t.alert === alert && t.state === 'firing');
    assert.equal(firing('cert_revoked').length, 1, JSON.stringify(transitions));
    assert.equal(firing('cert_revoked')[0]?.labels.sha1, sha1);
    assert.equal(firing('clock_unverified').length, 1, JSON.stringify(transitions));
    assert.equal(firing('clock_unverified')[0]?.labels.host, 'mini-sg-07');
    assert.equal(firing('notary_apple_outage').length, 1, 'an accepted submission still shows the outage it rode out');
  } finally {
    sb.cleanup();
  }
});
