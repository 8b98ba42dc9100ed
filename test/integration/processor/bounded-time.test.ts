/**
 * Issue 14 through the live processor on the real broker: one HK event stamped at year 9999 used to move the HK
 * clock (6 HK keychain failures were then counted expired and paged nobody, while the same 6 in KR paged), and it
 * was re-read on every rebuild. The events topic uses LogAppendTime: the broker's time of each record is its
 * reference, and an event beyond it + maxFutureSkew is dead-lettered as future_timestamp.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DLQ_HEADERS } from '../../../services/processor/topology.js';
import { clock, kcFail } from '../../unit/engine/helpers.js';
import { INTEGRATION, World, until } from './harness.js';
import type { Transition } from '../../../services/engine/types.js';

const skip = INTEGRATION ? false : 'needs the real broker: SIGNWATCH_INTEGRATION=1 after `npm run kafka:start`';
const HK_PAGE = 'signwatch/codesign_keychain_failures/region=HK';

const metric = async (port: number, name: string, region: string): Promise<number | undefined> => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^${name}\\{[^}]*region="${region}"[^}]*\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

void test('a year-9999 HK event before 6 keychain failures: HK still pages at the third and resolves at the exact instant; the poison is in dlq.v1 (future_timestamp), survives a kill -9 rebuild', { skip, timeout: 180_000 }, async () => {
  const w = new World({ partitions: 3, clock: 'event' });
  try {
    await w.createEventsTopic();
    // honest events happened in the last 3 hours (before the broker appends them): failures 2 h ago, one later event
    const t0 = Math.floor((Date.now() - 3 * 3_600_000) / 1000) * 1000;
    const poison = JSON.stringify({ ...kcFail(t0, 'HK', 'mini-hk-03'), ts: '9999-12-31T23:59:59.999Z' });
    const failures = Array.from({ length: 6 }, (_, i) => kcFail(t0 + 60_000 + i * 1000, 'HK', `mini-hk-0${1 + (i % 2)}`));
    const later = clock(t0 + 2 * 3_600_000, 5, 'HK', 'mini-hk-01'); // moves the HK clock past last failure + 1 h
    await w.produceRaw([{ key: 'HK', value: poison }]);
    await w.produceLines(failures.map((e) => JSON.stringify(e)));
    const p0 = await w.startProcessor();
    const fired = await until('the HK page', async () => (await w.transitions()).find((t) => t.dedupKey === HK_PAGE && t.state === 'firing'), 60_000);
    assert.equal(fired.at, failures[2]!.ts, 'pages at the third failure, at its own time');
    assert.equal(await metric(p0.metricsPort, 'signwatch_keychain_failures_in_window', 'HK'), 6);
    assert.equal((await metric(p0.metricsPort, 'signwatch_events_expired_total', 'HK')) ?? 0, 0, 'nothing expired');
    assert.equal(await metric(p0.metricsPort, 'signwatch_events_future_total', 'HK'), 1);

    // the poison is in the dead-letter topic with its reason, source and original bytes
    const dlq = await until('the dead letter', async () => {
      const r = await w.drain(w.topics.dlq);
      return r.length ? r : undefined;
    }, 30_000);
    assert.equal(dlq.length, 1);
    assert.match(dlq[0]!.headers[DLQ_HEADERS.reason]!, /^future_timestamp: ts 9999-12-31T23:59:59\.999Z is \d+ s ahead of the record time /);
    assert.equal(dlq[0]!.headers[DLQ_HEADERS.offset], '0');
    assert.equal(dlq[0]!.value, poison);

    // kill -9 and a new owner: the rebuild re-reads the poison and rejects it again (its reference is in the log)
    await p0.kill9();
    await w.startProcessor();
    await w.produceLines([JSON.stringify(later)]);
    const resolved = await until('the HK page to resolve', async () => (await w.transitions()).find((t) => t.dedupKey === HK_PAGE && t.state === 'resolved'), 60_000);
    assert.equal(Date.parse(resolved.at), Date.parse(failures[3]!.ts) + 3_600_000, 'resolves at the first instant ≤ 2 remain: when the 4th failure leaves the hour');
    const all: Transition[] = await w.transitions();
    assert.deepEqual(all.filter((t) => t.dedupKey === HK_PAGE).map((t) => t.state), ['firing', 'resolved'], 'written once each, across the kill -9');
    assert.equal((await w.drain(w.topics.dlq)).length, 1, 'the rebuild dead-letters nothing twice');
  } finally {
    await w.cleanup();
  }
});
