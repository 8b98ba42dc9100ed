/**
 * issue 16 item 11 (CSV formula prefixes neutralised) and item 12 (--around respects the limit; the query server
 * streams its answers and caps concurrent queries with 503).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvField } from '../../../services/query/format.js';
import { fitAround, MAX_LIMIT, type EventStore, type StoredEvent } from '../../../services/query/store.js';
import { QueryServer, parseServerConfig } from '../../../services/query/http.js';
import { SqliteEventStore } from '../../../services/query/sqlite-store.js';
import { mk, T0 } from './store-suite.js';

void test('issue 16 item 11: CSV fields starting with = + - @ tab or CR are neutralised with a quote; numbers are not', () => {
  assert.equal(csvField('=HYPERLINK("http://evil","x")'), `"'=HYPERLINK(""http://evil"",""x"")"`);
  assert.equal(csvField('@SUM(A1:A9)'), `"'@SUM(A1:A9)"`);
  assert.equal(csvField('+cmd|calc'), `"'+cmd|calc"`);
  assert.equal(csvField('-2+3'), `"'-2+3"`);
  assert.equal(csvField('\t=1'), `"'\t=1"`);
  assert.equal(csvField('\r=1'), `"'\r=1"`);
  assert.equal(csvField('-2070'), '-2070');
  assert.equal(csvField('+1.5'), '+1.5');
  assert.equal(csvField('mini-hk-03'), 'mini-hk-03');
  assert.equal(csvField('a,b'), '"a,b"');
});

async function withStore(n: number, fn: (store: SqliteEventStore, ids: string[]) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'sw-query-hard-'));
  const store = new SqliteEventStore(join(dir, 'events.db'));
  await store.open();
  const rows = Array.from({ length: n }, (_, i) => mk({ ts: T0 + i * 1000 }));
  await store.insertBatch(rows);
  try {
    await fn(store, rows.map((r) => r.event.id));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void test('issue 16 item 12: --around returns at most the limit in all, the nearest context kept on both sides', async () => {
  await withStore(60, async (store, ids) => {
    const day = { ms: 86_400_000 };
    const r = (await store.around(ids[30]!, {}, day, day, 11))!;
    assert.equal(r.events.length, 11);
    assert.equal(r.truncated, true);
    assert.deepEqual(r.events.map((e) => e.id), ids.slice(25, 36));
    // a side that needs less gives its room to the other
    const edge = (await store.around(ids[2]!, {}, day, day, 11))!;
    assert.deepEqual(edge.events.map((e) => e.id), ids.slice(0, 11));
    // counts of context below the limit are untouched
    const small = (await store.around(ids[30]!, {}, { events: 2 }, { events: 3 }, 1000))!;
    assert.deepEqual(small.events.map((e) => e.id), ids.slice(28, 34));
    assert.equal(small.truncated, undefined);
    // never more than MAX_LIMIT, whatever the caller asks
    assert.equal((await store.around(ids[30]!, {}, day, day, MAX_LIMIT * 5))!.events.length, 60);
  });
  const ev = (i: number) => ({ id: String(i) }) as StoredEvent;
  const before = Array.from({ length: MAX_LIMIT }, (_, i) => ev(i));
  const after = Array.from({ length: MAX_LIMIT }, (_, i) => ev(MAX_LIMIT + 1 + i));
  assert.equal(fitAround(ev(MAX_LIMIT), before, after, MAX_LIMIT).events.length, MAX_LIMIT, 'was 200,001');
});

function get(url: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

void test('issue 16 item 12: the query server streams event answers and answers 503 beyond maxConcurrent queries', async () => {
  await withStore(3000, async (real) => {
    // a store whose queries wait until released, so that queries are in progress together for sure
    const gates: Array<() => void> = [];
    let started = 0;
    const store = Object.create(real) as EventStore;
    store.query = async (f, o) => {
      started++;
      await new Promise<void>((r) => gates.push(r));
      return real.query(f, o);
    };
    const server = new QueryServer(store, parseServerConfig({ port: 0, maxConcurrent: 2 }), () => T0 + 3_600_000);
    await server.start();
    try {
      const a = get(`${server.url}/v1/events?since=2026-11-01T00:00:00Z&limit=3000`);
      const b = get(`${server.url}/v1/events?since=2026-11-01T00:00:00Z&limit=10`);
      while (started < 2) await new Promise((r) => setImmediate(r));
      const busy = await get(`${server.url}/v1/events?since=2026-11-01T00:00:00Z`);
      assert.equal(busy.status, 503);
      assert.equal(busy.headers['retry-after'], '1');
      assert.equal((JSON.parse(busy.body) as { code: string }).code, 'SW_QUERY_BUSY');
      assert.equal((await get(`${server.url}/healthz`)).status, 200, 'healthz is never refused');
      for (const g of gates.splice(0)) g();
      const [ra, rb] = await Promise.all([a, b]);
      assert.equal(ra.status, 200);
      assert.equal(ra.headers['transfer-encoding'], 'chunked', 'streamed, not one joined string');
      assert.equal(ra.headers['content-length'], undefined);
      const body = JSON.parse(ra.body) as { count: number; events: { id: string }[] };
      assert.equal(body.count, 3000);
      assert.equal(body.events.length, 3000);
      assert.equal((JSON.parse(rb.body) as { count: number }).count, 10);
      // the slots are given back: the next query is answered
      const next = get(`${server.url}/v1/events?since=2026-11-01T00:00:00Z&limit=1`);
      while (gates.length < 1) await new Promise((r) => setImmediate(r));
      for (const g of gates.splice(0)) g();
      assert.equal((await next).status, 200);
    } finally {
      await server.stop();
    }
  });
  assert.throws(() => parseServerConfig({ maxConcurrent: 0 }), /maxConcurrent/);
});
