/**
 * The EventStore contract, one suite for every implementation: sqlite-store.test.ts runs it on SQLite,
 * test/integration/query/postgres-store.test.ts on the real PostgreSQL server. Same inputs → same answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEvent, type SignEvent } from '../../../schemas/events.js';
import type { EventStore, StoreInput, StoredEvent } from '../../../services/query/store.js';
import { generateBatches } from '../../../bench/query-gen.js';
import { SQLITE_MIGRATIONS } from '../../../services/query/sqlite-store.js';
import { POSTGRES_MIGRATIONS } from '../../../services/query/postgres-store.js';

export interface StoreHarness {
  store: EventStore;
  /** Drop what the store created (file, schema). */
  cleanup(): Promise<void>;
}
export type MakeStore = (opts?: { retentionMs?: number }) => Promise<StoreHarness>;

export const T0 = Date.parse('2026-11-26T02:00:00.000Z');
const MIN = 60_000;

let counter = 0;
/** A ULID at `ts` with a deterministic, increasing random part. */
export function idAt(ts: number): string {
  const C = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let time = '';
  let t = ts;
  for (let i = 0; i < 10; i++) {
    time = C[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  let r = '';
  let n = ++counter;
  for (let i = 0; i < 16; i++) {
    r = C[n % 32]! + r;
    n = Math.floor(n / 32);
  }
  return time + r;
}

/** A valid event (checked by the real parser), as the processor would hand it over. */
export function mk(fields: Record<string, unknown>): StoreInput {
  const ts = (fields.ts as number | undefined) ?? T0;
  const base: Record<string, unknown> = {
    v: 1,
    id: idAt(ts),
    host: 'mini-hk-03',
    region: 'HK',
    pool: 'signing',
    agent: '0.1.0',
    type: 'codesign',
  };
  const type = (fields.type as string | undefined) ?? 'codesign';
  if (type === 'codesign') {
    Object.assign(base, {
      tool: 'codesign',
      outcome: 'ok',
      durationMs: 900,
      exitCode: 0,
      keychain: '/Users/ci/Library/Keychains/signing.keychain-db',
      partitionIds: ['apple-tool:', 'apple:'],
      invocationId: `inv-${counter}`,
    });
  } else if (type === 'unlock') {
    Object.assign(base, { outcome: 'ok', durationMs: 120, keychain: '/Users/ci/Library/Keychains/signing.keychain-db' });
  } else if (type === 'clock') {
    Object.assign(base, { offsetMs: 3, server: 'time.apple.com' });
  }
  const obj = { ...base, ...fields, ts: new Date(ts).toISOString() };
  const raw = JSON.stringify(obj);
  const r = parseEvent(raw);
  if (!r.ok) throw new Error(`fixture invalid: ${r.reason}`);
  return { event: r.event, raw };
}

const fail = (code: string, cls = 'keychain') => ({ outcome: 'fail', exitCode: 1, error: { code, osStatus: -25300, class: cls, message: code } });

/** The incident fixture: mini-hk-03 fails between 02:10 and 02:40, noise elsewhere, SQL-looking values. */
export function fixture(): StoreInput[] {
  return [
    mk({ ts: T0 + 0 * MIN, type: 'unlock' }),
    mk({ ts: T0 + 5 * MIN, correlationId: 'ci-100' }),
    mk({ ts: T0 + 12 * MIN, correlationId: 'ci-101', ...fail('errSecInternalComponent'), partitionIds: ['apple-tool:', 'teamid:ABCDE12345'] }),
    mk({ ts: T0 + 20 * MIN, correlationId: 'ci-101', ...fail('errSecInteractionNotAllowed') }),
    mk({ ts: T0 + 20 * MIN, correlationId: 'ci-102', host: 'mini-hk-01' }),
    mk({ ts: T0 + 35 * MIN, correlationId: 'ci-102', ...fail('errSecInternalComponent') }),
    mk({ ts: T0 + 40 * MIN, correlationId: 'ci-103' }),
    mk({ ts: T0 + 70 * MIN, host: 'mini-jp-01', region: 'JP', ...fail('errSecAuthFailed') }),
    mk({ ts: T0 + 75 * MIN, host: 'mini-jp-01', region: 'JP', type: 'clock' }),
    mk({ ts: T0 + 130 * MIN, host: 'mini-us-02', region: 'US', type: 'unlock', outcome: 'fail', error: { code: 'errSecAuthFailed', osStatus: -25293, message: 'bad' } }),
    // values that look like SQL must match literally
    mk({ ts: T0 + 140 * MIN, host: "x' OR '1'='1", region: 'SG', correlationId: "ci-1'; DROP TABLE events; --", ...fail('%', 'other') }),
    mk({ ts: T0 + 141 * MIN, host: 'mini-sg-_1', region: 'SG', ...fail('_', 'other'), keychain: '/tmp/a%b_c;.keychain-db', partitionIds: ["p'q", '%'] }),
  ];
}

const ids = (events: StoredEvent[]) => events.map((e) => e.id);

export function runStoreSuite(name: string, make: MakeStore): void {
  const withStore = (title: string, fn: (store: EventStore, data: StoreInput[]) => Promise<void>, opts?: { retentionMs?: number }) =>
    test(`${name}: ${title}`, async () => {
      const h = await make(opts);
      try {
        const data = fixture();
        assert.equal(await h.store.insertBatch(data), data.length);
        await fn(h.store, data);
      } finally {
        await h.store.close();
        await h.cleanup();
      }
    });

  void test(`${name}: lifecycle: open twice, close twice, close without open`, async () => {
    const h = await make();
    try {
      await h.store.open();
      const migrations = h.store.kind === 'sqlite' ? SQLITE_MIGRATIONS : POSTGRES_MIGRATIONS;
      assert.equal((await h.store.stats()).schemaVersion, migrations[migrations.length - 1]!.version);
      await h.store.close();
      await h.store.close();
      await assert.rejects(h.store.query({}), { code: 'SW_STORE_NOT_OPEN', retryable: false });
    } finally {
      await h.cleanup();
    }
  });

  void withStore('values with backslashes, tabs, newlines and \\N come back byte for byte; ids repeated in a batch count once', async (store, data) => {
    const odd = 'C:\\Users\\ci\t\\N "quoted"\r\nline two \\\\ end';
    const e = mk({ ts: T0 + 12 * MIN, keychain: odd, partitionIds: ['apple\\tool:', 'tab\there'], correlationId: 'corr\\N' });
    const raw = JSON.stringify(e.event);
    assert.ok(raw.includes('\\\\') && raw.includes('\\t'), 'the raw JSON carries escapes itself');
    assert.equal(await store.insertBatch([{ ...e, raw }, { ...e, raw }]), 1, 'an id twice in one batch is stored once');
    const got = await store.getById(e.event.id);
    assert.equal(got?.raw, raw);
    assert.equal(got?.keychain, odd);
    assert.equal(got?.correlationId, 'corr\\N');
    assert.deepEqual((await store.query({ correlationId: ['corr\\N'] })).map((x) => x.id), [e.event.id]);
    assert.equal((await store.query({})).length, data.length + 1);
  });

  void withStore('a future-stamped event is kept with its reference time and found by --flag future only', async (store, data) => {
    const ref = T0 + 10 * MIN;
    const poison = { ...mk({ ts: Date.parse('9999-12-31T23:59:59.000Z'), region: 'HK' }), futureRef: ref };
    const honest = mk({ ts: T0 + 11 * MIN });
    assert.equal(await store.insertBatch([poison, honest]), 2);
    const flagged = await store.query({ flag: ['future'] });
    assert.deepEqual(flagged.map((e) => [e.id, e.futureRef]), [[poison.event.id, ref]]);
    assert.equal((await store.getById(honest.event.id))?.futureRef, null);
    assert.equal((await store.getById(poison.event.id))?.futureRef, ref);
    assert.equal((await store.query({})).length, data.length + 2, 'kept for postmortems like any other event');
    // the rollup cannot answer a flag filter: counted from the events table
    assert.deepEqual((await store.countBy({ flag: ['future'] }, ['region'])).map((r) => [r.region, r.count]), [['HK', 1]]);
  });

  void withStore('insertBatch is idempotent by id and counts only new events', async (store, data) => {
    assert.equal(await store.insertBatch(data), 0, 'replaying the same batch adds nothing');
    assert.equal(await store.insertBatch([]), 0);
    const extra = mk({ ts: T0 + 200 * MIN });
    assert.equal(await store.insertBatch([extra, extra, data[0]!]), 1, 'duplicate inside a batch counts once');
    assert.equal((await store.stats()).events, data.length + 1);
    const all = await store.query({});
    assert.equal(all.length, data.length + 1);
    const seqs = all.map((e) => e.seq);
    assert.equal(new Set(seqs).size, seqs.length);
    // a large batch (several multi-row statements) with duplicates inside it and of stored events
    const big = Array.from({ length: 150 }, (_, i) => mk({ ts: T0 + 300 * MIN + i * 1000 }));
    const mixed = [...big.slice(0, 100), big[5]!, big[99]!, data[1]!, ...big.slice(100), big[149]!];
    assert.equal(await store.insertBatch(mixed), 150);
    assert.equal(await store.insertBatch(mixed), 0);
    assert.deepEqual(await store.countBy({ since: T0 + 300 * MIN }, []), [{ count: 150 }], 'the rollup counted each new event once');
  });

  void withStore('raw JSON comes back byte for byte', async (store, data) => {
    const got = await store.getById(data[2]!.event.id);
    assert.ok(got);
    assert.equal(got.raw, data[2]!.raw);
    assert.equal(got.ts, Date.parse(data[2]!.event.ts));
    assert.equal(got.errorCode, 'errSecInternalComponent');
    assert.equal(await store.getById('01J0000000000000000000000Z'), null);
  });

  void withStore('the postmortem question: what failed on mini-hk-03 between 02:10 and 02:40', async (store, data) => {
    const got = await store.query({ host: ['mini-hk-03'], outcome: ['fail'], since: T0 + 10 * MIN, until: T0 + 40 * MIN });
    assert.deepEqual(ids(got), [data[2], data[3], data[5]].map((d) => d!.event.id));
    // half-open: an event exactly at `until` is excluded, one exactly at `since` included
    assert.deepEqual(ids(await store.query({ since: T0 + 20 * MIN, until: T0 + 35 * MIN })), [data[3], data[4]].map((d) => d!.event.id).sort());
  });

  void withStore('each filter uses its column', async (store, data) => {
    const one = async (f: Parameters<EventStore['query']>[0]) => ids(await store.query(f));
    assert.deepEqual(await one({ region: ['JP'] }), [data[7], data[8]].map((d) => d!.event.id));
    assert.deepEqual(await one({ region: ['JP', 'US'], type: ['unlock'] }), [data[9]!.event.id]);
    assert.deepEqual(await one({ error: ['errSecAuthFailed'] }), [data[7], data[9]].map((d) => d!.event.id));
    assert.deepEqual(await one({ correlationId: ['ci-101'] }), [data[2], data[3]].map((d) => d!.event.id));
    const inv = (data[4]!.event as { invocationId: string }).invocationId;
    assert.deepEqual(await one({ invocationId: [inv] }), [data[4]!.event.id]);
    assert.deepEqual(await one({ partition: ['teamid:ABCDE12345'] }), [data[2]!.event.id]);
    assert.deepEqual(await one({ keychain: ['/tmp/a%b_c;.keychain-db'] }), [data[11]!.event.id]);
    assert.deepEqual(await one({ type: ['clock'] }), [data[8]!.event.id]);
    assert.equal((await one({ host: ['nobody'] })).length, 0);
    const desc = await store.query({ region: ['HK'] }, { order: 'desc', limit: 2 });
    assert.deepEqual(ids(desc), [data[6], data[5]].map((d) => d!.event.id));
  });

  void withStore('filter values that look like SQL match literally', async (store, data) => {
    const one = async (f: Parameters<EventStore['query']>[0]) => ids(await store.query(f));
    assert.deepEqual(await one({ host: ["x' OR '1'='1"] }), [data[10]!.event.id]);
    assert.deepEqual(await one({ host: ["mini-hk-03' OR '1'='1"] }), []);
    assert.deepEqual(await one({ correlationId: ["ci-1'; DROP TABLE events; --"] }), [data[10]!.event.id]);
    assert.deepEqual(await one({ error: ['%'] }), [data[10]!.event.id], '% is not a wildcard');
    assert.deepEqual(await one({ error: ['_'] }), [data[11]!.event.id], '_ is not a wildcard');
    assert.deepEqual(await one({ host: ['mini-sg-%'] }), []);
    assert.deepEqual(await one({ host: ['mini-sg-_1'] }), [data[11]!.event.id]);
    assert.deepEqual(await one({ partition: ['%'] }), [data[11]!.event.id]);
    assert.deepEqual(await one({ partition: ["p'q"] }), [data[11]!.event.id]);
    assert.deepEqual(await one({ error: ["' OR 1=1 --"] }), []);
    assert.equal((await store.stats()).events, data.length, 'nothing was dropped');
  });

  void withStore('around: grep -B/-A by count and by time, within the other filters', async (store, data) => {
    const anchor = data[5]!.event.id; // hk-03 at +35
    const r = await store.around(anchor, { host: ['mini-hk-03'] }, { events: 2 }, { events: 1 });
    assert.ok(r);
    assert.equal(r.anchor.id, anchor);
    assert.deepEqual(ids(r.events), [data[2], data[3], data[5], data[6]].map((d) => d!.event.id));
    const t = await store.around(anchor, {}, { ms: 15 * MIN }, { ms: 5 * MIN });
    assert.deepEqual(ids(t!.events), [data[3], data[4], data[5], data[6]].map((d) => d!.event.id).sort());
    const none = await store.around(anchor, {}, { events: 0 }, { events: 0 });
    assert.deepEqual(ids(none!.events), [anchor]);
    assert.equal(await store.around('01J0000000000000000000000Z', {}, { events: 1 }, { events: 1 }), null);
  });

  void withStore('countBy: hour × region, error; edges of partial hours', async (store) => {
    const byHourRegion = await store.countBy({}, ['hour', 'region']);
    assert.deepEqual(byHourRegion, [
      { hour: T0, region: 'HK', count: 7 },
      { hour: T0 + 60 * MIN, region: 'JP', count: 2 },
      { hour: T0 + 120 * MIN, region: 'SG', count: 2 },
      { hour: T0 + 120 * MIN, region: 'US', count: 1 },
    ]);
    const errs = await store.countBy({ outcome: ['fail'], since: T0 + 12 * MIN, until: T0 + 130 * MIN }, ['error']);
    assert.deepEqual(errs, [
      { error: 'errSecAuthFailed', count: 1 },
      { error: 'errSecInteractionNotAllowed', count: 1 },
      { error: 'errSecInternalComponent', count: 2 },
    ]);
    assert.deepEqual(await store.countBy({ region: ['HK'] }, []), [{ count: 7 }]);
    assert.deepEqual(await store.countBy({ correlationId: ['ci-101'] }, ['host']), [{ host: 'mini-hk-03', count: 2 }]);
    const nulls = await store.countBy({ since: T0, until: T0 + 10 * MIN }, ['outcome', 'error']);
    assert.deepEqual(nulls, [{ outcome: 'ok', error: null, count: 2 }]);
  });

  void test(`${name}: countBy from the rollup equals counting the events (random ranges over generated data)`, async () => {
    const h = await make();
    try {
      const end = Date.parse('2026-11-26T00:00:00.000Z');
      const batches = [...generateBatches({ seed: 7, count: 3000, end, days: 2, hostsPerRegion: 3 }, 500)];
      for (const [i, batch] of batches.entries()) {
        // every other batch re-sends the second half of the one before (ids already stored: the idempotent merge),
        // the others are all new (PostgreSQL: the direct COPY): counted once either way
        const again = i % 2 === 1 ? batches[i - 1]!.slice(250) : [];
        assert.equal(await h.store.insertBatch([...again, ...batch]), batch.length);
      }
      let seed = 11;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      for (let i = 0; i < 6; i++) {
        const a = end - 2 * 86_400_000 + Math.floor(rand() * 86_400_000);
        const b = a + Math.floor(rand() * 86_400_000);
        const f = { since: a, until: b, ...(i % 2 ? { region: ['HK' as const, 'US' as const] } : {}) };
        const events = await h.store.query(f, { limit: 100_000 });
        // the region-level rollup (no host) and the host-level rollup both agree with counting events
        for (const keys of [['hour', 'region', 'error'], ['hour', 'host', 'outcome']] as const) {
          const counted = await h.store.countBy(f, keys);
          const naive = new Map<string, number>();
          for (const e of events) {
            const k = `${Math.floor(e.ts / 3_600_000) * 3_600_000}|${keys[1] === 'region' ? e.region : e.host}|${keys[2] === 'error' ? e.errorCode : e.outcome}`;
            naive.set(k, (naive.get(k) ?? 0) + 1);
          }
          const got = new Map(counted.map((r) => [`${r.hour}|${keys[1] === 'region' ? r.region : r.host}|${keys[2] === 'error' ? r.error : r.outcome}`, r.count]));
          assert.deepEqual(got, naive, `${keys.join(',')} over ${new Date(a).toISOString()}..${new Date(b).toISOString()}`);
        }
      }
    } finally {
      await h.store.close();
      await h.cleanup();
    }
  });

  void withStore(
    'sweep deletes old events in small batches and keeps the rollup consistent',
    async (store, data) => {
      const now = T0 + 100 * MIN; // retention 60 min → cutoff T0+40min
      assert.equal(await store.sweep({ now, batchSize: 2 }), 2);
      let total = 2;
      for (let n; (n = await store.sweep({ now, batchSize: 2 })) > 0; ) total += n;
      assert.equal(total, 6, 'events before T0+40min');
      const left = await store.query({});
      assert.deepEqual(ids(left), data.slice(6).map((d) => d.event.id));
      assert.deepEqual(await store.countBy({}, ['hour', 'region']), [
        { hour: T0, region: 'HK', count: 1 },
        { hour: T0 + 60 * MIN, region: 'JP', count: 2 },
        { hour: T0 + 120 * MIN, region: 'SG', count: 2 },
        { hour: T0 + 120 * MIN, region: 'US', count: 1 },
      ]);
      assert.deepEqual(await store.countBy({ since: T0 - 60 * MIN, until: T0 + 60 * MIN }, ['hour']), [{ hour: T0, count: 1 }]);
      assert.deepEqual(await store.countBy({}, ['host']), [
        { host: 'mini-hk-03', count: 1 },
        { host: 'mini-jp-01', count: 2 },
        { host: 'mini-sg-_1', count: 1 },
        { host: 'mini-us-02', count: 1 },
        { host: "x' OR '1'='1", count: 1 },
      ]);
    },
    { retentionMs: 60 * MIN },
  );

  void withStore('afterSeq + bySeq: follow reads what was stored after a cursor, in storage order', async (store, data) => {
    const all = await store.query({}, { bySeq: true, limit: 100 });
    assert.deepEqual(ids(all), ids(all.slice().sort((a, b) => a.seq - b.seq)));
    const last = all[all.length - 1]!.seq;
    const late = mk({ ts: T0 - 30 * MIN, host: 'mini-hk-09' }); // late in event time, new in storage
    await store.insertBatch([late, data[0]!]);
    const next = await store.query({ afterSeq: last }, { bySeq: true });
    assert.deepEqual(ids(next), [late.event.id]);
  });
}

/** The same question set, for cross-store comparison. */
export async function answerSet(store: EventStore): Promise<unknown[]> {
  const strip = (events: StoredEvent[]) => events.map(({ seq: _seq, ...rest }) => rest);
  const end = Date.parse('2026-11-26T00:00:00.000Z');
  const out: unknown[] = [];
  out.push(strip(await store.query({ region: ['HK'], outcome: ['fail'] }, { limit: 50 })));
  out.push(strip(await store.query({ since: end - 86_400_000 + 1234, until: end - 80_000_000, host: ['mini-jp-01', 'mini-us-02'] })));
  out.push(strip(await store.query({ correlationId: ['ci-42'] })));
  out.push(strip(await store.query({ partition: ['teamid:ABCDE12345'], type: ['codesign'] }, { order: 'desc', limit: 20 })));
  out.push(strip(await store.query({ error: ['errSecInternalComponent'] }, { limit: 30 })));
  const mid = (await store.query({ region: ['SG'] }, { limit: 500 }))[250]!;
  out.push(strip((await store.around(mid.id, { host: [mid.host] }, { events: 5 }, { events: 5 }))!.events));
  out.push(strip((await store.around(mid.id, {}, { ms: 600_000 }, { ms: 300_000 }))!.events));
  out.push(await store.countBy({ since: end - 2 * 86_400_000 + 1, until: end - 17 }, ['hour', 'region']));
  out.push(await store.countBy({ outcome: ['fail'] }, ['region', 'host', 'error']));
  out.push(await store.countBy({ keychain: ['/Users/ci/Library/Keychains/signing-kr.keychain-db'] }, ['type', 'outcome']));
  // schema versions are per store (SQLite's migration 4 has no PostgreSQL counterpart): compare the data only
  const st = await store.stats();
  out.push({ events: st.events, oldestTs: st.oldestTs, newestTs: st.newestTs });
  return out;
}

export type { SignEvent };
