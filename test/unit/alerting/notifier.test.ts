import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startFakePagerDuty, type FakePagerDuty } from '../../../services/alerting/fake-pagerduty.js';
import { createNotifier, type Notifier } from '../../../services/alerting/notifier.js';
import { PagerDutyChannel, TicketWebhookChannel } from '../../../services/alerting/channels.js';
import { defaultPolicy } from '../../../services/engine/policy.js';
import { ROUTING_KEY, transition } from './transitions.js';

const policy = defaultPolicy();
const silent = pino({ level: 'silent' });

async function withFake(fn: (pd: FakePagerDuty, dir: string) => Promise<void>): Promise<void> {
  const pd = await startFakePagerDuty();
  const dir = mkdtempSync(join(tmpdir(), 'sw-notifier-'));
  try {
    await fn(pd, dir);
  } finally {
    await pd.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function notifier(pd: FakePagerDuty, dir: string, opts: { timeoutMs?: number; logger?: pino.Logger } = {}): Notifier {
  return createNotifier(
    { outboxPath: join(dir, 'outbox.sqlite'), retry: { baseMs: 20, maxMs: 200 } },
    {
      policy,
      logger: opts.logger ?? silent,
      channels: {
        pagerduty: new PagerDutyChannel(ROUTING_KEY, pd.eventsUrl, opts.timeoutMs ?? 2000),
        ticket: new TicketWebhookChannel(`${pd.url}/ticket`, 'ticket-token', 2000),
      },
    },
  );
}

const HK = { region: 'HK' };

void test('one incident per episode; trigger and resolve share the dedup key; the body follows the Events API v2 contract', async () => {
  await withFake(async (pd, dir) => {
    const n = notifier(pd, dir);
    await n.start();
    n.accept(transition('codesign_keychain_failures', HK, 'firing', '2026-11-26T01:00:00.000Z'));
    n.accept(transition('codesign_keychain_failures', HK, 'resolved', '2026-11-26T02:00:00.000Z'));
    n.accept(transition('codesign_keychain_failures', HK, 'firing', '2026-11-26T03:00:00.000Z'));
    assert.equal(await n.drain(5000), true);
    await n.stop();
    assert.equal(pd.events.length, 3);
    assert.deepEqual(pd.events.map((e) => e.body.event_action), ['trigger', 'resolve', 'trigger']);
    assert.ok(pd.events.every((e) => e.body.dedup_key === 'signwatch/codesign_keychain_failures/region=HK'));
    assert.equal(pd.incidents.length, 2, 'second episode is a new incident');
    assert.ok(pd.incidents[0]!.resolvedAt !== undefined);
    assert.equal(pd.incidents[1]!.resolvedAt, undefined);
    const trig = pd.events[0]!.body as { routing_key: string; payload: { severity: string; group: string; custom_details: Record<string, unknown> }; links: { href: string }[] };
    assert.equal(trig.routing_key, ROUTING_KEY);
    assert.equal(trig.payload.severity, 'critical');
    assert.equal(trig.payload.group, 'HK');
    assert.deepEqual(trig.payload.custom_details.error_codes, ['errSecInternalComponent']);
    assert.deepEqual(trig.payload.custom_details.partition_ids, ['apple-tool:', 'apple:', 'codesign:']);
    assert.ok(trig.links.some((l) => l.href.endsWith('/alerts/runbooks/codesign_keychain_failures.md')));
    assert.ok(trig.links.some((l) => l.href.includes('/d/signwatch-region/') && l.href.endsWith('var-region=HK')));
  });
});

void test('warning severity from the policy maps to PagerDuty warning', async () => {
  await withFake(async (pd, dir) => {
    const n = notifier(pd, dir);
    await n.start();
    n.accept(transition('unlock_latency_p95', { region: 'SG' }, 'firing', '2026-11-26T01:00:00.000Z'));
    assert.equal(await n.drain(5000), true);
    await n.stop();
    assert.equal((pd.events[0]!.body.payload as { severity: string }).severity, 'warning');
  });
});

void test('survives a 429 with Retry-After and two 500s; honours Retry-After; sends each transition once', async () => {
  await withFake(async (pd, dir) => {
    pd.inject({ kind: 'status', status: 429, retryAfter: '1' });
    pd.inject({ kind: 'status', status: 500 }, 2);
    const n = notifier(pd, dir);
    await n.start();
    const t0 = Date.now();
    n.accept(transition('codesign_keychain_failures', HK, 'firing', '2026-11-26T01:00:00.000Z'));
    n.accept(transition('codesign_keychain_failures', HK, 'resolved', '2026-11-26T02:00:00.000Z'));
    assert.equal(await n.drain(8000), true);
    await n.stop();
    assert.deepEqual(pd.requests.map((r) => r.status), [429, 500, 500, 202, 202]);
    assert.ok(pd.requests[1]!.at - t0 >= 950, `second attempt waited for Retry-After (${pd.requests[1]!.at - t0} ms)`);
    assert.deepEqual(pd.events.map((e) => e.body.event_action), ['trigger', 'resolve'], 'resolve never overtakes its trigger');
    assert.equal(n.stats.retried, 3);
  });
});

void test('survives a timeout (no answer) and retries', async () => {
  await withFake(async (pd, dir) => {
    pd.inject({ kind: 'timeout', hangMs: 2000 });
    const n = notifier(pd, dir, { timeoutMs: 150 });
    await n.start();
    n.accept(transition('codesign_keychain_failures', HK, 'firing', '2026-11-26T01:00:00.000Z'));
    assert.equal(await n.drain(5000), true);
    await n.stop();
    assert.equal(pd.events.length, 1);
    assert.equal(n.stats.retried, 1);
  });
});

void test('a 400 is never retried and its body is logged', async () => {
  await withFake(async (pd, dir) => {
    pd.inject({ kind: 'status', status: 400, body: '{"status":"invalid event","errors":["bad thing"]}' });
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
    const n = notifier(pd, dir, { logger });
    await n.start();
    n.accept(transition('codesign_keychain_failures', HK, 'firing', '2026-11-26T01:00:00.000Z'));
    assert.equal(await n.drain(3000), true);
    await new Promise((r) => setTimeout(r, 100));
    await n.stop();
    assert.equal(pd.requests.length, 1, 'exactly one attempt');
    assert.equal(n.stats.dead, 1);
    const err = lines.map((l) => JSON.parse(l) as { level: number; body?: string; msg: string }).find((l) => l.level === 50);
    assert.ok(err?.body?.includes('bad thing'), 'the receiver body is logged');
    assert.ok(!lines.join('').includes(ROUTING_KEY), 'the routing key never reaches the logs');
  });
});

void test('the real fake answers 400 to an invalid body (contract)', async () => {
  await withFake(async (pd) => {
    const r = await fetch(pd.eventsUrl, { method: 'POST', body: JSON.stringify({ routing_key: 'short', event_action: 'trigger' }) });
    assert.equal(r.status, 400);
    const b = (await r.json()) as { errors: string[] };
    assert.ok(b.errors.some((e) => e.includes('routing_key')));
    assert.ok(b.errors.some((e) => e.includes('payload')));
  });
});

void test('a restart between trigger and resolve: both delivered, in order, once', async () => {
  await withFake(async (pd, dir) => {
    // PagerDuty down while the first process accepts the trigger
    pd.inject({ kind: 'status', status: 503 }, 1000);
    const a = notifier(pd, dir);
    await a.start();
    assert.equal(a.accept(transition('codesign_keychain_failures', HK, 'firing', '2026-11-26T01:00:00.000Z')), true);
    await new Promise((r) => setTimeout(r, 100));
    await a.stop(); // "crash" with the trigger still pending
    assert.equal(pd.events.length, 0);
    // PagerDuty back; a new process takes over the same outbox and receives the resolve (and, from the alert
    // topic re-read, the trigger again, which must not be sent twice)
    const fresh = await startFakePagerDuty();
    try {
      const b = notifier(fresh, dir);
      assert.equal(b.accept(transition('codesign_keychain_failures', HK, 'firing', '2026-11-26T01:00:00.000Z')), false, 'duplicate');
      assert.equal(b.accept(transition('codesign_keychain_failures', HK, 'resolved', '2026-11-26T02:00:00.000Z')), true);
      await b.start();
      assert.equal(await b.drain(5000), true);
      await b.stop();
      assert.deepEqual(fresh.events.map((e) => e.body.event_action), ['trigger', 'resolve']);
      assert.equal(fresh.incidents.length, 1);
      assert.ok(fresh.incidents[0]!.resolvedAt !== undefined);
    } finally {
      await fresh.close();
    }
  });
});

void test('one ticket per certificate: open once across regions, resolve when the last region resolves', async () => {
  await withFake(async (pd, dir) => {
    const n = notifier(pd, dir);
    await n.start();
    const sha1 = 'ab'.repeat(20);
    const c = (region: string, state: 'firing' | 'resolved', at: string) =>
      transition('cert_expiry', { region, sha1, subject: 'Apple Distribution: X' }, state, at, { value: 12, threshold: 21 });
    n.accept(c('HK', 'firing', '2026-11-26T01:00:00.000Z'));
    n.accept(c('JP', 'firing', '2026-11-26T01:00:01.000Z'));
    n.accept(c('HK', 'resolved', '2026-11-27T01:00:00.000Z'));
    assert.equal(await n.drain(5000), true);
    assert.equal(pd.webhooks('/ticket').length, 1);
    n.accept(c('JP', 'resolved', '2026-11-27T02:00:00.000Z'));
    assert.equal(await n.drain(5000), true);
    await n.stop();
    const t = pd.webhooks('/ticket');
    assert.equal(t.length, 2);
    const [open, resolve] = t.map((r) => r.body as { action: string; key: string; schema: string; title: string });
    assert.equal(open!.action, 'open');
    assert.equal(open!.key, `signwatch/cert_expiry/${sha1}`);
    assert.equal(open!.schema, 'signwatch.ticket.v1');
    assert.match(open!.title, /expires in 12 days/);
    assert.equal(resolve!.action, 'resolve');
    assert.equal(t[0]!.headers['idempotency-key'], `signwatch/cert_expiry/${sha1}#open`);
    assert.equal(t[0]!.headers.authorization, 'Bearer ticket-token');
    assert.equal(pd.events.length, 0, 'tickets do not page');
  });
});

void test('deliveries and retries are counted on the meter the host process serves on /metrics', async () => {
  const { createTelemetry } = await import('../../../services/platform/telemetry.js');
  const telemetry = createTelemetry({ serviceName: 'notifier-test', host: '127.0.0.1', port: 0, serve: false });
  await withFake(async (pd, dir) => {
    pd.inject({ kind: 'status', status: 500 });
    const n = createNotifier(
      { outboxPath: join(dir, 'outbox.sqlite'), retry: { baseMs: 20, maxMs: 200 }, routes: { ticket: [] } },
      { policy, logger: silent, meter: telemetry.meter, channels: { pagerduty: new PagerDutyChannel(ROUTING_KEY, pd.eventsUrl, 2000) } },
    );
    await n.start();
    n.accept(transition('codesign_keychain_failures', HK, 'firing', '2026-11-26T01:00:00.000Z'));
    assert.equal(await n.drain(5000), true);
    await n.stop();
    const text = await telemetry.scrape();
    assert.match(text, /signwatch_notifications_total\{[^}]*channel="pagerduty"[^}]*outcome="delivered"[^}]*\} 1/);
    assert.match(text, /signwatch_notification_retries_total\{[^}]*channel="pagerduty"[^}]*\} 1/);
  });
  await telemetry.stop();
});
