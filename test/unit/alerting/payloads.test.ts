import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, parseRetryAfter } from '../../../services/platform/backoff.js';
import { pagerDutyEvent } from '../../../services/alerting/pagerduty-event.js';
import { validateEvent } from '../../../services/alerting/fake-pagerduty.js';
import { githubIssue, jiraIssue, ticketPayload } from '../../../services/alerting/ticket-payload.js';
import { defaultPolicy } from '../../../services/engine/policy.js';
import { ROUTING_KEY, transition } from './transitions.js';

void test('backoff: exponential, capped, jittered within [cap/2, cap]', () => {
  const o = { baseMs: 1000, maxMs: 8000 };
  assert.equal(backoffDelay(1, o, () => 0), 500);
  assert.equal(backoffDelay(1, o, () => 1), 1000);
  assert.equal(backoffDelay(3, o, () => 1), 4000);
  assert.equal(backoffDelay(10, o, () => 1), 8000);
  assert.equal(backoffDelay(10, o, () => 0), 4000);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(2, o);
    assert.ok(d >= 1000 && d <= 2000);
  }
});

void test('Retry-After: seconds or an HTTP date', () => {
  const now = Date.parse('2026-11-26T01:00:00.000Z');
  assert.equal(parseRetryAfter('3', now), 3000);
  assert.equal(parseRetryAfter('Thu, 26 Nov 2026 01:00:05 GMT', now), 5000);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(null, now), undefined);
});

void test('a PagerDuty event from a transition passes the Events API v2 validation; a long summary is cut to 1024', () => {
  const policy = defaultPolicy();
  const t = transition('codesign_keychain_failures', { region: 'KR' }, 'firing', '2026-11-26T01:00:00.000Z', { summary: 'x'.repeat(5000) });
  const ev = { routing_key: ROUTING_KEY, ...pagerDutyEvent(t, policy) };
  assert.deepEqual(validateEvent(ev), []);
  assert.equal(ev.payload!.summary.length, 1024);
  const r = { routing_key: ROUTING_KEY, ...pagerDutyEvent({ ...t, state: 'resolved' }, policy) };
  assert.deepEqual(validateEvent(r), []);
  assert.equal(r.event_action, 'resolve');
  assert.equal(r.dedup_key, t.dedupKey);
  assert.deepEqual(validateEvent({ routing_key: ROUTING_KEY, event_action: 'resolve' }), ["'dedup_key' is required for acknowledge and resolve"]);
});

void test('ticket payload and the Jira / GitHub example shapes', () => {
  const sha1 = 'cd'.repeat(20);
  const t = transition('cert_expiry', { region: 'US', sha1, subject: 'Developer ID Application: X' }, 'firing', '2026-11-26T01:00:00.000Z', { value: 9.5, threshold: 21 });
  const p = ticketPayload(t, 'open', defaultPolicy());
  assert.equal(p.key, `signwatch/cert_expiry/${sha1}`);
  assert.match(p.title, /expires in 9 days/);
  // with the rule's facts: subject, kind and team in the title, the SHA-1 once (in the body), one day count
  const withFacts = ticketPayload(
    { ...t, value: 17, details: { hosts: ['mini-us-01', 'mini-us-02'], keychains: [], partitionIds: [], errorCodes: [], correlationIds: [], eventIds: [], facts: { subject: 'Apple Distribution: Example Corp (ABCDE12345)', certKind: 'Apple Distribution', teamId: 'ABCDE12345', daysLeft: 17, notAfter: '2026-12-13T00:00:00.000Z' } } },
    'open',
    defaultPolicy(),
  );
  assert.equal(withFacts.title, 'Rotate signing certificate "Apple Distribution: Example Corp (ABCDE12345)" (Apple Distribution, team ABCDE12345): expires in 17 days');
  assert.ok(!withFacts.title.includes(sha1), 'no SHA-1 in the title');
  assert.equal(withFacts.body.split(sha1).length - 1, 2, 'the SHA-1 once in the list, once in the key line');
  assert.ok(withFacts.body.includes('Days left: 17') && !/17\.\d/.test(withFacts.body), 'one whole-day count');
  assert.deepEqual(withFacts.hosts, ['mini-us-01', 'mini-us-02'], 'every host listed');
  const j = jiraIssue(p, 'OPS') as { fields: { project: { key: string }; labels: string[]; summary: string } };
  assert.equal(j.fields.project.key, 'OPS');
  assert.ok(j.fields.labels.every((l) => !/\s/.test(l)), 'Jira labels have no spaces');
  const g = githubIssue(p) as { body: string; title: string };
  assert.ok(g.body.includes(p.key));
});
