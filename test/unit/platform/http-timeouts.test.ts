/**
 * Issue 16, item 3: every HTTP server takes the platform's timeouts (services/platform/http-timeouts.ts), the plain
 * node:http ones too: here /metrics (telemetry) cuts off a client that trickles its request headers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTelemetry } from '../../../services/platform/telemetry.js';
import { HTTP_DEFAULTS, serverTimeouts } from '../../../services/platform/http-timeouts.js';
import { trickle } from '../../harness/net.js';

void test('issue 16 item 3: the /metrics server (plain node:http) cuts off a client trickling its headers', async () => {
  const t = createTelemetry({ serviceName: 'sw-test', host: '127.0.0.1', port: 0, serve: true, timeouts: { requestTimeoutMs: 300, checkIntervalMs: 50 } });
  const port = await t.start();
  try {
    const { answer } = await trickle(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    assert.match(answer, /^HTTP\/1\.1 408 /);
  } finally {
    await t.stop();
  }
});

void test('issue 16 item 3: the defaults every server shares: request deadline checked every second, headers within the request deadline', () => {
  assert.deepEqual(serverTimeouts(), { requestTimeout: HTTP_DEFAULTS.requestTimeoutMs, headersTimeout: 10_000, connectionsCheckingInterval: 1000, keepAliveTimeout: 5000 });
  assert.equal(serverTimeouts({ requestTimeoutMs: 2000 }).headersTimeout, 2000, 'node refuses headersTimeout > requestTimeout');
});
