// The console server without Kafka or a browser (fastify inject, and one real listen beyond loopback): tokens,
// sessions, same-origin, the CSP, the Faro receiver and /metrics, the state fold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTokenBook, hashToken } from '../../../services/platform/tokens.js';
import { createTelemetry } from '../../../services/platform/telemetry.js';
import { defaultPolicy } from '../../../services/engine/policy.js';
import { UsageError } from '../../../services/platform/errors.js';
import { ConsoleState } from '../../../services/console/state.js';
import { consoleApp, startConsole, SESSION_COOKIE } from '../../../services/console/server.js';
import { parseListen } from '../../../services/console/command.js';
import type { WireFleet } from '../../../services/console/wire.js';
import { transition } from '../alerting/transitions.js';

const ALICE = 'swt_alice-token-for-tests-only-0000000000000';
const book = () => parseTokenBook(`alice ${hashToken(ALICE)}\n`, 'test-book');

function setup(withBook: boolean) {
  const state = new ConsoleState(defaultPolicy());
  const telemetry = createTelemetry({ serviceName: 'signwatch-console-test', host: '127.0.0.1', port: 0, serve: false });
  const app = consoleApp({ state, telemetry, ...(withBook ? { tokenBook: book() } : {}) });
  return { state, telemetry, app };
}

/** A payload shaped as the Faro Web SDK sends it (meta + the item lists + OTLP traces). */
export const FARO_PAYLOAD = {
  meta: {
    sdk: { name: '@grafana/faro-core', version: '1.9.0', integrations: [] },
    app: { name: 'signwatch-console', version: '0.1.0', environment: 'test' },
    session: { id: 'sess-1', attributes: {} },
    page: { url: 'http://127.0.0.1:8788/' },
    browser: { name: 'Chrome', version: '120', os: 'Linux', mobile: false },
  },
  logs: [
    { message: 'console loaded', level: 'info', context: {}, timestamp: '2026-12-01T20:00:00.000Z' },
    { message: 'sse connected', level: 'info', context: {}, timestamp: '2026-12-01T20:00:00.100Z' },
  ],
  exceptions: [{ type: 'TypeError', value: 'x is undefined', stacktrace: { frames: [{ filename: 'console.js', function: 'render', lineno: 1, colno: 2 }] }, timestamp: '2026-12-01T20:00:01.000Z' }],
  measurements: [{ type: 'web-vitals', values: { ttfb: 12.5, lcp: 220 }, timestamp: '2026-12-01T20:00:02.000Z' }],
  events: [{ name: 'fleet-rendered', domain: 'console', attributes: { regions: '5' }, timestamp: '2026-12-01T20:00:02.000Z' }],
  traces: { resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 'fetch' }, spans: [{ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), name: 'GET /api/me' }] }] }] },
};

void test('every answer carries a CSP that forbids inline script, and nosniff / frame-ancestors', async () => {
  const { app } = setup(false);
  for (const url of ['/', '/api/fleet', '/nope']) {
    const res = await app.inject({ method: 'GET', url });
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'(;|$)/, url);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, url);
    assert.match(csp, /frame-ancestors 'none'/, url);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['access-control-allow-origin'], undefined);
  }
  const page = await app.inject({ method: 'GET', url: '/' });
  assert.equal(page.statusCode, 200);
  // the page has no inline script: every <script> names a same-origin src
  const scripts = page.body.match(/<script[^>]*>[\s\S]*?<\/script>/g) ?? [];
  assert.ok(scripts.length > 0);
  for (const s of scripts) assert.match(s, /^<script[^>]* src="\/assets\/[^"]+"[^>]*><\/script>$/);
  await app.close();
});

void test('with a token book: no token, a wrong token or a token in the URL is 401; Bearer and the login cookie work', async () => {
  const { app } = setup(true);
  assert.equal((await app.inject({ method: 'GET', url: '/api/fleet' })).statusCode, 401);
  assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
  assert.equal((await app.inject({ method: 'GET', url: '/api/events' })).statusCode, 401);
  assert.equal((await app.inject({ method: 'GET', url: '/api/fleet', headers: { authorization: 'Bearer swt_wrong' } })).statusCode, 401);
  assert.equal((await app.inject({ method: 'GET', url: `/api/fleet?token=${ALICE}` })).statusCode, 401);
  const ok = await app.inject({ method: 'GET', url: '/api/fleet', headers: { authorization: `Bearer ${ALICE}` } });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json<WireFleet>().user, 'alice');
  assert.equal(ok.json<WireFleet>().regions.length, 5);
  // the page itself is public (it holds no data), the data is not
  assert.equal((await app.inject({ method: 'GET', url: '/' })).statusCode, 200);

  const bad = await app.inject({ method: 'POST', url: '/login', payload: { token: 'swt_wrong' } });
  assert.equal(bad.statusCode, 401);
  assert.equal(bad.headers['set-cookie'], undefined);
  const login = await app.inject({ method: 'POST', url: '/login', payload: { token: ALICE } });
  assert.equal(login.statusCode, 200);
  const setCookie = String(login.headers['set-cookie']);
  assert.match(setCookie, new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; `));
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);
  assert.ok(!setCookie.includes(ALICE), 'the cookie is a session id, not the token');
  const cookie = setCookie.split(';')[0]!;
  const me = await app.inject({ method: 'GET', url: '/api/me', headers: { cookie } });
  assert.equal(me.statusCode, 200);
  assert.deepEqual(me.json(), { user: 'alice' });
  await app.inject({ method: 'POST', url: '/logout', headers: { cookie }, payload: {} });
  assert.equal((await app.inject({ method: 'GET', url: '/api/me', headers: { cookie } })).statusCode, 401);
  await app.close();
});

void test('cross-origin requests are refused (Origin of another host, Sec-Fetch-Site cross-site)', async () => {
  const { app } = setup(false);
  const evil = await app.inject({ method: 'POST', url: '/collect', headers: { host: '127.0.0.1:8788', origin: 'http://evil.example' }, payload: FARO_PAYLOAD });
  assert.equal(evil.statusCode, 403);
  assert.equal(evil.json<{ code: string }>().code, 'SW_CONSOLE_FORBIDDEN');
  assert.equal((await app.inject({ method: 'GET', url: '/api/fleet', headers: { 'sec-fetch-site': 'cross-site' } })).statusCode, 403);
  const same = await app.inject({ method: 'POST', url: '/collect', headers: { host: '127.0.0.1:8788', origin: 'http://127.0.0.1:8788', 'sec-fetch-site': 'same-origin' }, payload: FARO_PAYLOAD });
  assert.equal(same.statusCode, 202);
  await app.close();
});

void test('the console refuses to listen beyond loopback without a token book; with one, it refuses requests without a token', async () => {
  const state = new ConsoleState(defaultPolicy());
  const telemetry = createTelemetry({ serviceName: 't', host: '127.0.0.1', port: 0, serve: false });
  await assert.rejects(startConsole({ state, telemetry, host: '0.0.0.0', port: 0 }), (e: unknown) => e instanceof UsageError && /0\.0\.0\.0 is not a loopback address.*--token-book/.test(e.message));
  const s = await startConsole({ state, telemetry, host: '0.0.0.0', port: 0, tokenBook: book() });
  try {
    const url = s.url.replace('0.0.0.0', '127.0.0.1');
    assert.equal((await fetch(`${url}/api/fleet`)).status, 401);
    assert.equal((await fetch(`${url}/api/fleet`, { headers: { authorization: `Bearer ${ALICE}` } })).status, 200);
  } finally {
    await s.stop();
  }
});

void test('/collect accepts a Faro payload (202) and /metrics counts it; a bad payload is 400 and counted as rejected', async () => {
  const { app } = setup(false);
  const res = await app.inject({ method: 'POST', url: '/collect', payload: FARO_PAYLOAD });
  assert.equal(res.statusCode, 202);
  assert.equal((await app.inject({ method: 'POST', url: '/collect/some-app-key', payload: { meta: FARO_PAYLOAD.meta, logs: FARO_PAYLOAD.logs } })).statusCode, 202);
  const bad = await app.inject({ method: 'POST', url: '/collect', payload: { logs: 'not a list' } });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json<{ message: string }>().message, /\/collect: not a Faro payload: logs/);
  assert.equal((await app.inject({ method: 'POST', url: '/collect', payload: { meta: {}, surprise: [] } })).statusCode, 400);
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  assert.match(metrics, /^signwatch_console_faro_payloads_total\{app="signwatch-console"\} 2$/m);
  assert.match(metrics, /^signwatch_console_faro_items_total\{app="signwatch-console",kind="logs"\} 4$/m);
  assert.match(metrics, /^signwatch_console_faro_items_total\{app="signwatch-console",kind="exceptions"\} 1$/m);
  assert.match(metrics, /^signwatch_console_faro_items_total\{app="signwatch-console",kind="measurements"\} 1$/m);
  assert.match(metrics, /^signwatch_console_faro_items_total\{app="signwatch-console",kind="events"\} 1$/m);
  assert.match(metrics, /^signwatch_console_faro_items_total\{app="signwatch-console",kind="spans"\} 1$/m);
  assert.match(metrics, /^signwatch_console_faro_rejected_total\{reason="bad_shape"\} 2$/m);
  assert.match(metrics, /^signwatch_console_faro_measurement_count\{app="signwatch-console",name="lcp"\} 1$/m);
  assert.match(metrics, /^signwatch_console_sse_clients 0$/m);
  await app.close();
});

void test('state: a freezing alert firing in HK freezes HK only, with its evidence; resolving opens it again', async () => {
  const state = new ConsoleState(defaultPolicy());
  let heard = 0;
  state.subscribe(() => heard++);
  state.apply(transition('codesign_keychain_failures', { region: 'HK' }, 'firing', '2026-12-01T20:00:00.000Z'));
  const f = state.snapshot('alice');
  assert.deepEqual(
    f.regions.filter((r) => r.frozen).map((r) => r.region),
    ['HK'],
  );
  assert.equal(f.alerts.length, 1);
  assert.deepEqual(f.alerts[0]!.hosts, ['mac-hk-01', 'mac-hk-02']);
  assert.deepEqual(f.alerts[0]!.errorCodes, ['errSecInternalComponent']);
  assert.deepEqual(f.alerts[0]!.correlationIds, ['pipeline-123']);
  await new Promise((r) => setImmediate(r));
  assert.equal(heard, 1);
  state.apply(transition('codesign_keychain_failures', { region: 'HK' }, 'resolved', '2026-12-01T21:00:00.000Z'));
  const g = state.snapshot('alice');
  assert.equal(g.regions.some((r) => r.frozen), false);
  assert.equal(g.alerts.length, 0);
  assert.equal(g.applied, 2);
});

void test('--listen parsing names the flag', () => {
  assert.deepEqual(parseListen(undefined), { host: '127.0.0.1', port: 8788 });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.throws(() => parseListen('8788'), /signwatch console: --listen: "8788" must be HOST:PORT/);
});
