// The console's Alert and Search APIs and Faro forwarding without Kafka or a browser: fastify inject against a real
// SQLite event store (temp file), the alert timelines folded from transitions, the postmortem and Grafana links,
// and the forwarder against real local HTTP receivers (accepting, refusing, never answering).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTokenBook, hashToken } from '../../../services/platform/tokens.js';
import { createTelemetry } from '../../../services/platform/telemetry.js';
import { UsageError } from '../../../services/platform/errors.js';
import { defaultPolicy } from '../../../services/engine/policy.js';
import { openStore } from '../../../services/query/open-store.js';
import type { EventStore } from '../../../services/query/store.js';
import { ConsoleState } from '../../../services/console/state.js';
import { consoleApp } from '../../../services/console/server.js';
import { AlertHistory, MAX_KEYS } from '../../../services/console/history.js';
import { grafanaLink, latestEpisode, postmortemQuery } from '../../../services/console/routes/alert.js';
import { queryCommand, shellWord } from '../../../services/console/routes/search.js';
import { FaroForwarder, parseForwardUrl } from '../../../services/console/routes/faro-forward.js';
import { consolePagesFlags } from '../../../services/console/routes/flags.js';
import type { WireAlertPage, WireSearch } from '../../../services/console/pages-wire.js';
import { transition } from '../alerting/transitions.js';
import { mk, T0 } from '../query/store-suite.js';

/** A Faro Web SDK payload (meta + items), as the page sends it. */
const FARO_PAYLOAD = {
  meta: { sdk: { name: '@grafana/faro-core', version: '1.9.0' }, app: { name: 'signwatch-console', version: '0.1.0' }, session: { id: 'sess-1' } },
  logs: [{ message: 'console loaded', level: 'info', context: {}, timestamp: '2026-12-01T20:00:00.000Z' }],
  measurements: [{ type: 'web-vitals', values: { ttfb: 12.5 }, timestamp: '2026-12-01T20:00:02.000Z' }],
};
const ALICE = 'swt_alice-token-for-pages-tests-00000000000000';
const MIN = 60_000;
const fail = (code: string) => ({ outcome: 'fail', exitCode: 1, error: { code, osStatus: -2070, class: 'keychain', message: code } });

async function withStore<T>(fn: (store: EventStore) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'sw-console-unit-'));
  const store = await openStore(`sqlite:${join(dir, 'events.db')}`);
  try {
    await store.insertBatch([
      mk({ ts: T0 + 0 * MIN, host: 'mini-hk-03', correlationId: 'ci-1' }),
      mk({ ts: T0 + 10 * MIN, host: 'mini-hk-03', correlationId: 'ci-2', ...fail('errSecInternalComponent') }),
      mk({ ts: T0 + 20 * MIN, host: 'mini-hk-04', correlationId: 'ci-2', ...fail('errSecInternalComponent') }),
      mk({ ts: T0 + 70 * MIN, host: 'mini-jp-01', region: 'JP', correlationId: "ci-'3", ...fail('errSecInternalComponent') }),
    ]);
    return await fn(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function app(o: { store?: EventStore; book?: boolean } = {}) {
  const state = new ConsoleState(defaultPolicy());
  const telemetry = createTelemetry({ serviceName: 'signwatch-console-test', host: '127.0.0.1', port: 0, serve: false });
  const a = consoleApp({ state, telemetry, grafanaUrl: 'https://grafana.example/', ...(o.store ? { store: o.store } : {}), ...(o.book ? { tokenBook: parseTokenBook(`alice ${hashToken(ALICE)}\n`, 'b') } : {}) });
  return { state, telemetry, app: a };
}

void test('alert history: per dedup key, in time order, evidence gathered over the transitions; list most recent first; bounded', () => {
  const h = new AlertHistory();
  h.apply(transition('codesign_keychain_failures', { region: 'HK' }, 'firing', '2026-12-01T20:00:00.000Z', { details: { hosts: ['a'], keychains: [], partitionIds: [], errorCodes: ['e1'], correlationIds: ['c1'], eventIds: [] } }));
  h.apply(transition('unlock_latency_p95', { region: 'JP' }, 'firing', '2026-12-01T20:05:00.000Z'));
  h.apply(transition('codesign_keychain_failures', { region: 'HK' }, 'firing', '2026-12-01T20:10:00.000Z', { details: { hosts: ['b', 'a'], keychains: [], partitionIds: [], errorCodes: ['e2'], correlationIds: [], eventIds: [], facts: { days: 3 } } }));
  h.apply(transition('codesign_keychain_failures', { region: 'HK' }, 'resolved', '2026-12-01T20:40:00.000Z', { details: undefined }));
  const r = h.get('signwatch/codesign_keychain_failures/region=HK')!;
  assert.deepEqual(r.timeline.map((t) => [t.state, t.at]), [['firing', '2026-12-01T20:00:00.000Z'], ['firing', '2026-12-01T20:10:00.000Z'], ['resolved', '2026-12-01T20:40:00.000Z']]);
  assert.deepEqual(r.evidence.hosts, ['a', 'b']);
  assert.deepEqual(r.evidence.errorCodes, ['e1', 'e2']);
  assert.deepEqual(r.evidence.facts, { days: 3 });
  assert.deepEqual(h.list().map((x) => [x.alert, x.state]), [['codesign_keychain_failures', 'resolved'], ['unlock_latency_p95', 'firing']]);
  // the episode: from the first firing of the last run to its resolve
  assert.deepEqual(latestEpisode(r), { start: '2026-12-01T20:00:00.000Z', end: '2026-12-01T20:40:00.000Z' });
  h.apply(transition('codesign_keychain_failures', { region: 'HK' }, 'firing', '2026-12-01T21:00:00.000Z'));
  assert.deepEqual(latestEpisode(h.get(r.dedupKey)!), { start: '2026-12-01T21:00:00.000Z' });
  for (let i = 0; i < MAX_KEYS + 10; i++) h.apply(transition('host_silent', { region: 'US', host: `h${i}` }, 'firing', '2026-12-01T22:00:00.000Z'));
  assert.equal(h.size, MAX_KEYS);
  assert.equal(h.get(r.dedupKey), undefined, 'the least recently changed key went first');
});

void test('postmortem query and Grafana link: region, host and error codes over the episode; host alerts link the host dashboard', () => {
  const h = new AlertHistory();
  h.apply(transition('codesign_keychain_failures', { region: 'HK', host: 'mini-hk-03' }, 'firing', '2026-12-01T20:00:00.000Z'));
  h.apply(transition('codesign_keychain_failures', { region: 'HK', host: 'mini-hk-03' }, 'resolved', '2026-12-01T20:30:00.000Z'));
  const r = h.get('signwatch/codesign_keychain_failures/host=mini-hk-03,region=HK')!;
  const q = postmortemQuery(r);
  assert.equal(q.toString(), 'since=2026-12-01T19%3A00%3A00.000Z&until=2026-12-01T20%3A40%3A00.000Z&region=HK&host=mini-hk-03&error=errSecInternalComponent');
  assert.equal(queryCommand(q), 'signwatch query --since 2026-12-01T19:00:00.000Z --until 2026-12-01T20:40:00.000Z --region HK --host mini-hk-03 --error errSecInternalComponent');
  const g = new URL(grafanaLink('https://grafana.example/sub/', r));
  assert.equal(g.pathname, '/sub/d/signwatch-host/signwatch');
  assert.equal(g.searchParams.get('var-host'), 'mini-hk-03');
  assert.equal(g.searchParams.get('to'), String(Date.parse('2026-12-01T20:40:00.000Z')));
  assert.equal(shellWord("ci-'3 x"), `'ci-'\\''3 x'`);
});

void test('/api/alert and /api/alerts: the page of one key (dedup key, timeline, links), 400 without a key, 404 for an unknown one', async () => {
  const { state, app: a } = app();
  state.apply(transition('codesign_keychain_failures', { region: 'HK' }, 'firing', '2026-12-01T20:00:00.000Z'));
  const key = 'signwatch/codesign_keychain_failures/region=HK';
  const res = await a.inject({ method: 'GET', url: `/api/alert?key=${encodeURIComponent(key)}` });
  assert.equal(res.statusCode, 200);
  const p = res.json<WireAlertPage>();
  assert.equal(p.pagerDutyDedupKey, key);
  assert.equal(p.state, 'firing');
  assert.equal(p.links.search, '/search?since=2026-12-01T19%3A00%3A00.000Z&region=HK&error=errSecInternalComponent');
  assert.match(p.links.grafana, /^https:\/\/grafana\.example\/d\/signwatch-region\/signwatch\?var-region=HK&from=\d+&to=now$/);
  assert.equal((await a.inject({ method: 'GET', url: '/api/alert' })).statusCode, 400);
  const missing = await a.inject({ method: 'GET', url: '/api/alert?key=signwatch/nope/region=HK' });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json<{ code: string }>().code, 'SW_CONSOLE_NOT_FOUND');
  assert.equal((await a.inject({ method: 'GET', url: '/api/alerts' })).json<{ alerts: unknown[] }>().alerts.length, 1);
});

void test('/api/search: the query filters over the store, "more" when the limit cuts, count-by, around; bad filters name the parameter', async () => {
  await withStore(async (store) => {
    const { app: a } = app({ store });
    const get = async (qs: string) => {
      const res = await a.inject({ method: 'GET', url: `/api/search?${qs}` });
      return { status: res.statusCode, body: res.json<WireSearch & { code?: string; key?: string; message?: string }>() };
    };
    let r = await get('region=HK&error=errSecInternalComponent');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.events.map((e) => e.host), ['mini-hk-03', 'mini-hk-04']);
    assert.equal(r.body.more, false);
    assert.equal(r.body.command, 'signwatch query --region HK --error errSecInternalComponent');
    r = await get('error=errSecInternalComponent&limit=2');
    assert.equal(r.body.events.length, 2);
    assert.equal(r.body.more, true);
    r = await get('error=errSecInternalComponent&limit=3');
    assert.equal(r.body.more, false, 'exactly the limit: nothing more');
    r = await get('count-by=hour,region&error=errSecInternalComponent');
    assert.deepEqual(r.body.counts, { keys: ['hour', 'region'], rows: [{ keys: ['2026-11-26T02:00:00.000Z', 'HK'], count: 2 }, { keys: ['2026-11-26T03:00:00.000Z', 'JP'], count: 1 }] });
    r = await get("correlation-id=ci-'3");
    assert.deepEqual(r.body.events.map((e) => e.host), ['mini-jp-01']);
    assert.equal(r.body.command, `signwatch query --correlation-id 'ci-'\\''3'`);
    const anchor = (await get('host=mini-hk-04')).body.events[0]!.id;
    r = await get(`around=${anchor}&before=1&after=1`);
    assert.deepEqual(r.body.events.map((e) => [e.host, e.anchor ?? false]), [['mini-hk-03', false], ['mini-hk-04', true], ['mini-jp-01', false]]);
    r = await get('since=yesterday-ish');
    assert.equal(r.status, 400);
    assert.equal(r.body.key, 'since');
    assert.match(r.body.message ?? "", /since: "yesterday-ish" is not a time/);
    r = await get('token=abc');
    assert.equal(r.status, 400, 'an unknown parameter (a token too) is refused, not ignored');
    assert.equal((await get('around=01JDXYZ0000000000000000042')).status, 404);
  });
  const none = await app().app.inject({ method: 'GET', url: '/api/search?region=HK' });
  assert.equal(none.statusCode, 404);
  assert.match(none.json<{ message: string }>().message, /--store/);
});

void test('/alert and /search serve the page to anyone (it holds no data); their APIs need the token', async () => {
  const { app: a } = app({ book: true });
  for (const url of ['/alert?key=x', '/search?region=HK&since=2h']) {
    const res = await a.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 200, url);
    assert.match(res.body, /<script type="module" src="\/assets\/console.js"><\/script>/);
    assert.match(String(res.headers['content-security-policy']), /script-src 'self'/);
  }
  for (const url of ['/api/alert?key=x', '/api/alerts', '/api/search?region=HK']) assert.equal((await a.inject({ method: 'GET', url })).statusCode, 401, url);
  assert.equal((await a.inject({ method: 'GET', url: '/api/alerts', headers: { authorization: `Bearer ${ALICE}` } })).statusCode, 200);
});

void test('--faro-forward URL: https, or http to loopback only; no credentials; the other flags checked', async () => {
  assert.equal(parseForwardUrl('https://alloy.example:12347/collect').host, 'alloy.example:12347');
  assert.equal(parseForwardUrl('http://127.0.0.1:12347/collect').port, '12347');
  assert.equal(parseForwardUrl('http://[::1]:12347/collect').hostname, '[::1]');
  assert.throws(() => parseForwardUrl('http://alloy.example/collect'), (e: Error) => e instanceof UsageError && /must be https/.test(e.message));
  assert.throws(() => parseForwardUrl('https://u:p@alloy.example/collect'), /no credentials/);
  assert.throws(() => parseForwardUrl('not a url'), /is not a URL/);
  await assert.rejects(consolePagesFlags({ 'grafana-url': 'ftp://x' }, 'http://127.0.0.1:3000'), /--grafana-url/);
  await assert.rejects(consolePagesFlags({ 'faro-forward-timeout': '1s' }, 'http://127.0.0.1:3000'), /only make sense with --faro-forward/);
  await assert.rejects(consolePagesFlags({ 'faro-forward': 'http://127.0.0.1:1/collect', 'faro-forward-timeout': '1ms' }, 'http://127.0.0.1:3000'), /--faro-forward-timeout/);
  const dir = mkdtempSync(join(tmpdir(), 'sw-console-flags-'));
  try {
    writeFileSync(join(dir, 'key'), 'alloy-api-key\n');
    const p = await consolePagesFlags({ 'faro-forward': 'http://127.0.0.1:1/collect', 'faro-forward-key-file': join(dir, 'key'), 'grafana-url': 'https://g.example/' }, 'x');
    assert.equal(p.options.faroForward?.apiKey, 'alloy-api-key');
    assert.equal(p.options.grafanaUrl, 'https://g.example');
    assert.equal(p.options.store, undefined);
    await assert.rejects(consolePagesFlags({ store: `sqlite:${join(dir, 'missing.db')}` }, 'http://127.0.0.1:3000'), /signwatch console: --store|store/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A local receiver: `answer` decides what each POST gets (or leaves it hanging). */
async function receiver(answer: (res: ServerResponse, body: string) => void): Promise<{ server: Server; url: string; bodies: string[]; keys: (string | undefined)[]; hanging: ServerResponse[] }> {
  const bodies: string[] = [];
  const keys: (string | undefined)[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    let s = '';
    req.on('data', (c: Buffer) => (s += c.toString('utf8')));
    req.on('end', () => {
      bodies.push(s);
      keys.push(req.headers['x-api-key'] as string | undefined);
      hanging.push(res);
      answer(res, s);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/collect`, bodies, keys, hanging };
}

async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (const deadline = Date.now() + 60_000; !(await check()); ) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

void test('Faro forwarding: /collect answers 202 and the payload reaches the receiver afterwards, with the API key', async () => {
  const rx = await receiver((res) => res.writeHead(202).end('{}'));
  const state = new ConsoleState(defaultPolicy());
  const telemetry = createTelemetry({ serviceName: 'signwatch-console-test', host: '127.0.0.1', port: 0, serve: false });
  const a = consoleApp({ state, telemetry, faroForward: { url: rx.url, apiKey: 'k-123' } });
  try {
    const res = await a.inject({ method: 'POST', url: '/collect', payload: FARO_PAYLOAD });
    assert.equal(res.statusCode, 202);
    await until('the forwarded payload', () => rx.bodies.length === 1);
    assert.deepEqual(JSON.parse(rx.bodies[0]!), FARO_PAYLOAD);
    assert.deepEqual(rx.keys, ['k-123']);
    await until('the counter', async () => /^signwatch_console_faro_forwarded_total 1$/m.test(await telemetry.scrape()));
    // a refused payload (400) is not forwarded
    assert.equal((await a.inject({ method: 'POST', url: '/collect', payload: { nope: 1 } })).statusCode, 400);
    assert.equal((await a.inject({ method: 'POST', url: '/collect/app-key', payload: FARO_PAYLOAD })).statusCode, 202);
    await until('the second forwarded payload', () => rx.bodies.length === 2);
  } finally {
    await a.close();
    await new Promise<void>((r) => rx.server.close(() => r()));
  }
});

void test('Faro forwarding: a refusing receiver and a silent one are counted as failures; a full queue drops and counts; stop drops the rest', async () => {
  const telemetry = createTelemetry({ serviceName: 'signwatch-console-test', host: '127.0.0.1', port: 0, serve: false });
  const refusing = await receiver((res) => res.writeHead(500).end('no'));
  const silent = await receiver(() => undefined);
  const f1 = new FaroForwarder({ url: refusing.url }, telemetry);
  const telemetry2 = createTelemetry({ serviceName: 'signwatch-console-test', host: '127.0.0.1', port: 0, serve: false });
  const f2 = new FaroForwarder({ url: silent.url, timeoutMs: 200, maxQueue: 1 }, telemetry2);
  try {
    f1.enqueue(FARO_PAYLOAD);
    await until('status failure', async () => /^signwatch_console_faro_forward_failed_total\{reason="status"\} 1$/m.test(await telemetry.scrape()));
    f2.enqueue(FARO_PAYLOAD); // in flight (the receiver never answers)
    f2.enqueue(FARO_PAYLOAD); // queued
    f2.enqueue(FARO_PAYLOAD); // the queue is full
    assert.equal(f2.queued, 1);
    assert.match(await telemetry2.scrape(), /^signwatch_console_faro_forward_dropped_total\{reason="queue_full"\} 1$/m);
    await until('timeout failure', async () => /^signwatch_console_faro_forward_failed_total\{reason="timeout"\} [1-9]/m.test(await telemetry2.scrape()));
    f2.enqueue(FARO_PAYLOAD);
    await f2.stop();
    f2.enqueue(FARO_PAYLOAD);
    assert.match(await telemetry2.scrape(), /^signwatch_console_faro_forward_dropped_total\{reason="stopped"\} [1-9]/m);
  } finally {
    await f1.stop();
    await f2.stop();
    for (const res of silent.hanging) res.destroy();
    await new Promise<void>((r) => refusing.server.close(() => r()));
    silent.server.closeAllConnections();
    await new Promise<void>((r) => silent.server.close(() => r()));
  }
});
