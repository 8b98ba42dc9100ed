/**
 * Issue 16, item 6: a PagerDuty or ticket receiver that echoes the request put the routing key into the notifier log
 * (`body`) and the outbox's last_error; `--pagerduty-url http://…` was accepted. Answers are now redacted before they
 * are logged or stored, and receivers must be https except on the loopback interface.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createNotifier } from '../../../services/alerting/notifier.js';
import { PagerDutyChannel, TicketWebhookChannel } from '../../../services/alerting/channels.js';
import { receiverUrlProblem, redactSecrets } from '../../../services/alerting/http-post.js';
import { NotifyError } from '../../../services/alerting/errors.js';
import { defaultPolicy } from '../../../services/engine/policy.js';
import { transition } from './transitions.js';

const MAIN = fileURLToPath(new URL('../../../services/cli/main.js', import.meta.url));
const ROUTING_KEY = 'R0UTINGKEY0123456789abcdefABCDEF';
const TICKET_TOKEN = 'tkt_s3cr3t-ticket-token';

/** A receiver that answers `status` with everything it was sent: the body and the headers. */
async function echoReceiver(status: number): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'bad request', echo: JSON.parse(body) as unknown, headers: req.headers, raw: body }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

void test('issue 16 item 6: an echoing receiver never puts the routing key or ticket token into the notifier log or the outbox last_error', async () => {
  const pd = await echoReceiver(400);
  const tk = await echoReceiver(422);
  const dir = mkdtempSync(join(tmpdir(), 'sw-echo-'));
  const lines: string[] = [];
  try {
    const n = createNotifier(
      { outboxPath: join(dir, 'outbox.sqlite'), retry: { baseMs: 20, maxMs: 200 } },
      {
        policy: defaultPolicy(),
        logger: pino({ level: 'info' }, { write: (s: string) => void lines.push(s) }),
        channels: { pagerduty: new PagerDutyChannel(ROUTING_KEY, `${pd.url}/v2/enqueue`, 2000), ticket: new TicketWebhookChannel(`${tk.url}/ticket`, TICKET_TOKEN, 2000) },
      },
    );
    await n.start();
    n.accept(transition('codesign_keychain_failures', { region: 'HK' }, 'firing', '2026-11-26T01:00:00.000Z'));
    n.accept(transition('cert_expiry', { region: 'US', host: 'mini-us-01', sha1: 'A'.repeat(40) }, 'firing', '2026-11-26T01:00:00.000Z'));
    assert.equal(await n.drain(10_000), true);
    const rows = n.outbox.rows();
    await n.stop();
    assert.equal(rows.length, 2);
    assert.ok(rows.every((r) => r.status === 'dead'), 'a 4xx is not retried');
    const stored = JSON.stringify(rows.map((r) => r.last_error));
    const logged = lines.join('');
    assert.match(stored, /rejected/);
    assert.match(logged, /notification rejected by the receiver/);
    assert.match(logged, /\[redacted\]/, 'the body is still logged, redacted');
    for (const secret of [ROUTING_KEY, TICKET_TOKEN]) {
      assert.ok(!stored.includes(secret), `not in last_error: ${secret}`);
      assert.ok(!logged.includes(secret), `not in the log: ${secret}`);
    }
  } finally {
    pd.server.close();
    tk.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('issue 16 item 6: redaction covers the raw, JSON-escaped and URL-encoded secret, secret-named fields and bearer credentials', () => {
  const k = 'abc/def"ghi+jkl';
  const text = `raw ${k} json ${JSON.stringify(k)} url ${encodeURIComponent(k)} {"routing_key":"other-key","token":"t"} Authorization: Bearer xyz.123`;
  const out = redactSecrets(text, [k]);
  assert.ok(!out.includes('def') && !out.includes('other-key') && !out.includes('xyz.123'), out);
  assert.match(out, /"routing_key":"\[redacted\]"/);
  assert.match(out, /Bearer \[redacted\]/);
});

void test('issue 16 item 6: receivers must be https except on loopback (--pagerduty-url, --ticket-url, channels)', () => {
  assert.equal(receiverUrlProblem('https://events.pagerduty.com/v2/enqueue'), undefined);
  for (const ok of ['http://127.0.0.1:8080/x', 'http://localhost/x', 'http://[::1]:9/x', 'http://127.9.9.9/x']) assert.equal(receiverUrlProblem(ok), undefined, ok);
  assert.match(receiverUrlProblem('http://pagerduty.example.com/v2/enqueue') ?? '', /must be https \(plain http is allowed only on the loopback interface, not pagerduty\.example\.com\)/);
  assert.match(receiverUrlProblem('http://127.0.0.1.evil.example/x') ?? '', /must be https/);
  assert.match(receiverUrlProblem('ftp://x/y') ?? '', /must be an https URL/);
  assert.throws(() => new PagerDutyChannel(ROUTING_KEY, 'http://10.0.0.5/v2/enqueue'), (e: unknown) => e instanceof NotifyError && e.code === 'SW_NOTIFY_CONFIG' && !e.message.includes(ROUTING_KEY));
  assert.throws(() => new TicketWebhookChannel('http://tickets.example.com/hook', TICKET_TOKEN), /ticket: http:\/\/tickets\.example\.com\/hook: must be https/);
  for (const flag of ['--pagerduty-url', '--ticket-url']) {
    const r = spawnSync(process.execPath, [MAIN, 'alerts', 'notify', flag, 'http://pagerduty.example.com/v2/enqueue', '--check-config'], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stdout);
    assert.match(r.stderr, /^signwatch alerts notify: alerts notify config: (pagerdutyUrl|ticketUrl): must be https/);
  }
  const ok = spawnSync(process.execPath, [MAIN, 'alerts', 'notify', '--pagerduty-url', 'http://127.0.0.1:9/v2/enqueue', '--check-config'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
});
