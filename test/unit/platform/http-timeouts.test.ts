/**
 * Issue 16, item 3: every HTTP server takes the platform's timeouts (services/platform/http-timeouts.ts), the plain
 * node:http ones too: here /metrics (telemetry) cuts off a client that trickles its request headers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createTelemetry } from '../../../services/platform/telemetry.js';
import { HTTP_DEFAULTS, serverTimeouts } from '../../../services/platform/http-timeouts.js';

/** Opens a connection, sends `head` then one byte every 20 ms; resolves with what the server answered once it closes. */
function trickle(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => {
      sock.destroy();
      reject(new Error('the trickling connection was still open after 30 s'));
    }, 30_000);
    sock.on('connect', () => {
      sock.write(head);
      const drip = () => {
        if (!sock.destroyed) sock.write('x', () => (timer = setTimeout(drip, 20)));
      };
      drip();
    });
    sock.on('data', (b: Buffer) => (answer += b.toString()));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(guard);
      clearTimeout(timer);
      resolve(answer);
    });
  });
}

void test('issue 16 item 3: the /metrics server (plain node:http) cuts off a client trickling its headers', async () => {
  const t = createTelemetry({ serviceName: 'sw-test', host: '127.0.0.1', port: 0, serve: true, timeouts: { requestTimeoutMs: 300, checkIntervalMs: 50 } });
  const port = await t.start();
  try {
    const answer = await trickle(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    assert.match(answer, /^HTTP\/1\.1 408 /);
  } finally {
    await t.stop();
  }
});

void test('issue 16 item 3: the defaults every server shares: request deadline checked every second, headers within the request deadline', () => {
  assert.deepEqual(serverTimeouts(), { requestTimeout: HTTP_DEFAULTS.requestTimeoutMs, headersTimeout: 10_000, connectionsCheckingInterval: 1000, keepAliveTimeout: 5000 });
  assert.equal(serverTimeouts({ requestTimeoutMs: 2000 }).headersTimeout, 2000, 'node refuses headersTimeout > requestTimeout');
});
