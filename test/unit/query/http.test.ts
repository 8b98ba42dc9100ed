/** The query HTTP API over a real SQLite store: same schema as the CLI, bearer token, loopback default. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryServer, parseServerConfig } from '../../../services/query/http.js';
import { SqliteEventStore } from '../../../services/query/sqlite-store.js';
import { fixture, T0 } from './store-suite.js';

async function withServer(token: string | undefined, fn: (server: QueryServer, data: ReturnType<typeof fixture>) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'sw-query-http-'));
  const store = new SqliteEventStore(join(dir, 'events.db'));
  await store.open();
  const data = fixture();
  await store.insertBatch(data);
  const server = new QueryServer(store, parseServerConfig({ port: 0, ...(token ? { token } : {}) }), () => T0 + 3 * 3_600_000);
  try {
    await fn(server, data);
  } finally {
    await server.stop();
    await server.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void test('config: loopback by default; any other address needs a token; unknown keys named', () => {
  assert.equal(parseServerConfig({}).host, '127.0.0.1');
  assert.equal(parseServerConfig({}).port, 8787);
  assert.ok(Object.isFrozen(parseServerConfig({})));
  assert.throws(() => parseServerConfig({ host: '0.0.0.0' }), /token: is required when binding 0.0.0.0/);
  assert.throws(() => parseServerConfig({ host: '10.1.2.3', token: 'short' }), /token: must be at least 16 characters/);
  assert.equal(parseServerConfig({ host: '0.0.0.0', token: 'a-long-enough-token' }).host, '0.0.0.0');
  assert.throws(() => parseServerConfig({ hots: 'x' }), /hots: unknown key/);
});

void test('GET /v1/events and /v1/counts answer like the CLI, with the same validation', async () => {
  await withServer(undefined, async (server, data) => {
    const app = server.build();
    const r = await app.inject({ url: '/v1/events?host=mini-hk-03&outcome=fail&since=2026-11-26T02:10:00Z&until=2026-11-26T02:40:00Z' });
    assert.equal(r.statusCode, 200);
    const body = r.json<{ count: number; events: { id: string }[] }>();
    assert.equal(body.count, 3);
    assert.deepEqual(body.events.map((e) => e.id), [2, 3, 5].map((i) => data[i]!.event.id));
    assert.ok(r.body.includes(data[2]!.raw), 'events are the stored JSON');
    const sql = await app.inject({ url: `/v1/events?host=${encodeURIComponent("x' OR '1'='1")}` });
    assert.equal(sql.json<{ count: number }>().count, 1);
    const multi = await app.inject({ url: '/v1/events?correlation-id=ci-101&correlation-id=ci-102' });
    assert.equal(multi.json<{ count: number }>().count, 4);
    const rel = await app.inject({ url: '/v1/events?since=1h' }); // now = T0+3h
    assert.equal(rel.json<{ count: number }>().count, 3, 'relative to the server clock: T0+2h onwards');
    const around = await app.inject({ url: `/v1/events?around=${data[5]!.event.id}&before=1&after=1&host=mini-hk-03` });
    assert.deepEqual(around.json<{ events: { id: string }[] }>().events.map((e) => e.id), [3, 5, 6].map((i) => data[i]!.event.id));
    assert.equal((await app.inject({ url: '/v1/events?around=01JDX0000000000000000000ZZ' })).statusCode, 404);
    const counts = await app.inject({ url: '/v1/counts?count-by=hour,region&region=HK,JP' });
    assert.deepEqual(counts.json(), {
      keys: ['hour', 'region'],
      rows: [
        { hour: new Date(T0).toISOString(), region: 'HK', count: 7 },
        { hour: new Date(T0 + 3_600_000).toISOString(), region: 'JP', count: 2 },
      ],
    });
    for (const [url, key] of [
      ['/v1/events?since=yesterday', 'since'],
      ['/v1/events?region=EU', 'region'],
      ['/v1/events?colour=red', 'colour'],
      ['/v1/events?before=3', 'before'],
      ['/v1/counts?host=a', 'count-by'],
      ['/v1/events?count-by=hour', 'count-by'],
    ] as const) {
      const bad = await app.inject({ url });
      assert.equal(bad.statusCode, 400, url);
      const b = bad.json<{ code: string; key: string; message: string }>();
      assert.equal(b.code, 'SW_QUERY_BAD_REQUEST');
      assert.equal(b.key, key, url);
      assert.ok(b.message.startsWith(`${key}: `), b.message);
    }
  });
});

void test('bearer token: required on every query route when configured; healthz stays open; real socket on 127.0.0.1', async () => {
  const token = 'test-token-0123456789';
  await withServer(token, async (server) => {
    await server.start();
    const url = server.url;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    const none = await fetch(`${url}/v1/events`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await fetch(`${url}/v1/events`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status, 401);
    assert.equal((await fetch(`${url}/v1/counts?count-by=region`, { headers: { authorization: `Basic ${token}` } })).status, 401);
    const ok = await fetch(`${url}/v1/counts?count-by=region`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { rows: unknown[] }).rows.length, 4);
  });
});
