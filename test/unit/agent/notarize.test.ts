/** Notarization retries: Apple API / network failures only, exponential backoff with jitter, attempts counted. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateEvent } from '../../../schemas/events.js';
import { backoffMs, notarizeWithRetry } from '../../../services/agent/commands/notarize.js';
import { cli, fixture, ndjson, sandbox } from './helpers.js';

const policy = { maxAttempts: 4, baseDelayMs: 1000, maxDelayMs: 5000 };
const out = (stdout: string, stderr = '', code = 0) => Promise.resolve({ code, stdout, stderr });

void test('backoff: exponential, capped, jittered within [d/2, d]', () => {
  assert.equal(backoffMs(1, policy, () => 0), 500);
  assert.equal(backoffMs(1, policy, () => 1), 1000);
  assert.equal(backoffMs(3, policy, () => 1), 4000);
  assert.equal(backoffMs(6, policy, () => 1), 5000);
  assert.equal(backoffMs(6, policy, () => 0), 2500);
});

void test('an Apple API outage then Accepted: retried, attempts = 2, submission id kept', async () => {
  const answers = [out('', 'Error: HTTP status code: 503. Service Unavailable\n', 1), out(fixture('notarytool-submit-wait__accepted-db4s-placeholder-id.txt'))];
  const slept: number[] = [];
  const r = await notarizeWithRetry(() => answers.shift() ?? out(''), policy, (ms) => {
    slept.push(ms);
    return Promise.resolve();
  }, () => 0.5);
  assert.equal(r.outcome, 'accepted');
  assert.equal(r.attempts, 2);
  assert.equal(r.submissionId, '11111111-2222-3333-4444-555555555555');
  assert.deepEqual(slept, [750]);
  assert.deepEqual(r.attemptErrors.map((a) => [a.class, a.code]), [['apple_api', 'http_503']], 'the outage is kept although the submission was accepted');
  assert.equal(r.error, undefined);
});

void test('attemptErrors: every failed attempt before the last, the last failure only in error (never counted twice)', async () => {
  const r = await notarizeWithRetry(() => out('', 'Error: The Internet connection appears to be offline.\n', 1), policy, () => Promise.resolve());
  assert.deepEqual([r.outcome, r.attempts, r.error?.class], ['error', 4, 'network']);
  assert.deepEqual(r.attemptErrors.map((a) => a.class), ['network', 'network', 'network']);
  const answers = [out('', 'Error: HTTP status code: 503. Service Unavailable\n', 1), out('', fixture('notarytool-auth-401.txt'), 1)];
  const a = await notarizeWithRetry(() => answers.shift() ?? out(''), policy, () => Promise.resolve());
  assert.deepEqual([a.outcome, a.attempts, a.error?.class, a.error?.code], ['error', 2, 'auth', 'http_401']);
  assert.deepEqual(a.attemptErrors.map((x) => [x.class, x.code, x.message]), [['apple_api', 'http_503', 'HTTP status code: 503. Service Unavailable']]);
  const once = await notarizeWithRetry(() => out(fixture('notarytool-submit-wait__accepted-db4s-placeholder-id.txt')), policy, () => Promise.resolve());
  assert.deepEqual(once.attemptErrors, []);
});

void test('credentials (401) and keychain failures are never retried away', async () => {
  let calls = 0;
  const r = await notarizeWithRetry(() => {
    calls++;
    return out('', fixture('notarytool-auth-401.txt'), 1);
  }, policy, () => Promise.resolve());
  assert.deepEqual([r.outcome, r.attempts, calls, r.error?.class, r.error?.code], ['error', 1, 1, 'auth', 'http_401']);
  const k = await notarizeWithRetry(() => out('', 'Error: No Keychain password item found for profile: ci\n', 1), policy, () => Promise.resolve());
  assert.deepEqual([k.attempts, k.error?.class], [1, 'keychain']);
});

void test('Invalid is an answer, not a failure: no retry', async () => {
  const r = await notarizeWithRetry(() => out(fixture('notarytool-submit-wait-json__invalid.json')), policy, () => Promise.resolve());
  assert.deepEqual([r.outcome, r.attempts, r.submissionId], ['invalid', 1, '2e86ff68-c357-4f51-bc96-230d567f9dd6']);
});

void test('network failures exhaust maxAttempts and are reported as network', async () => {
  const slept: number[] = [];
  const r = await notarizeWithRetry(() => out('', 'Error: The Internet connection appears to be offline.\n', 1), policy, (ms) => {
    slept.push(ms);
    return Promise.resolve();
  }, () => 1);
  assert.deepEqual([r.outcome, r.attempts, r.error?.class], ['error', 4, 'network']);
  assert.deepEqual(slept, [1000, 2000, 4000]);
});

void test('CLI: agent notarize retries through the fake xcrun and records one event with the attempt count', () => {
  const sb = sandbox({ notarize: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 40 } });
  try {
    const events = join(sb.dir, 'ev.ndjson');
    const env = {
      ...sb.env,
      FAKE_NOTARYTOOL: 'notarytool-http-503__synthetic.txt,notarytool-offline__synthetic.txt,notarytool-submit-wait-json__invalid.json',
      FAKE_NOTARYTOOL_STATE: join(sb.dir, 'calls'),
    };
    const r = cli(['agent', 'notarize', '--keychain-profile', 'ci', '--sink', `ndjson:${events}`, 'App.zip'], env);
    assert.equal(r.status, 1, 'invalid is not success');
    const [ev] = ndjson(events);
    assert.ok(ev && validateEvent(ev).ok);
    assert.deepEqual([ev.type, ev.outcome, ev.attempts, ev.submissionId], ['notarize', 'invalid', 3, '2e86ff68-c357-4f51-bc96-230d567f9dd6']);
    assert.deepEqual(
      (ev.attemptErrors as { class: string; code: string }[]).map((a) => [a.class, a.code]),
      [['apple_api', 'http_503'], ['network', 'network']],
      'the failed attempts before the answer, with their classes',
    );
    assert.equal((JSON.parse(readFileSync(join(sb.dataDir, 'state.json'), 'utf8')) as { notaryProfile?: string }).notaryProfile, 'ci', 'the heartbeat\'s notaryProfile');
    const auth = cli(['agent', 'notarize', '--sink', `ndjson:${events}`, 'App.zip'], { ...sb.env, FAKE_NOTARYTOOL: 'notarytool-auth-401.txt' });
    assert.equal(auth.status, 1);
    const second = ndjson(events)[1];
    assert.deepEqual([second?.outcome, second?.attempts, (second?.error as { class: string }).class, second?.attemptErrors], ['error', 1, 'auth', undefined]);
    assert.equal(cli(['agent', 'notarize'], sb.env).status, 2);
  } finally {
    sb.cleanup();
  }
});
