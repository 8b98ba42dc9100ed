import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCounts, formatEvents, table } from '../../../services/query/format.js';
import type { StoredEvent } from '../../../services/query/store.js';

const ev = (over: Partial<StoredEvent>): StoredEvent => ({
  seq: 1,
  id: '01JDX0000000000000000000AB',
  ts: Date.parse('2026-11-26T02:12:00.000Z'),
  type: 'codesign',
  region: 'HK',
  host: 'mini-hk-03',
  outcome: 'fail',
  errorCode: 'errSecInternalComponent',
  keychain: '/k.keychain-db',
  futureRef: null,
  correlationId: 'ci-1',
  invocationId: 'inv-1',
  raw: '{"v":1,"partitionIds":["apple-tool:","teamid:X"],"odd":"keep  spacing"}',
  ...over,
});

void test('json and ndjson give back the stored JSON byte for byte', () => {
  const a = ev({});
  const b = ev({ id: '01JDX0000000000000000000AC', raw: '{"v":1,"x":"b"}' });
  assert.equal(formatEvents([a, b], 'ndjson'), `${a.raw}\n${b.raw}\n`);
  assert.deepEqual(JSON.parse(formatEvents([a, b], 'json')), [JSON.parse(a.raw), JSON.parse(b.raw)]);
  assert.ok(formatEvents([a], 'json').includes(a.raw));
  assert.equal(formatEvents([], 'json'), '[]\n');
  assert.equal(formatEvents([], 'ndjson'), '');
});

void test('csv quotes commas, quotes and newlines (RFC 4180)', () => {
  const out = formatEvents([ev({ host: 'a,b', keychain: 'say "hi"\nthere' })], 'csv');
  const [header, row] = out.split('\r\n');
  assert.equal(header, 'time,region,host,type,outcome,error,keychain,partitions,correlation,invocation,id');
  assert.ok(row!.startsWith('2026-11-26T02:12:00.000Z,HK,"a,b",codesign,fail,errSecInternalComponent,"say ""hi""'));
  assert.ok(out.includes('apple-tool: teamid:X'));
});

void test('table: aligned columns, anchor marked, control characters escaped', () => {
  const out = formatEvents([ev({}), ev({ id: '01JDX0000000000000000000AC', host: 'evil\u001b[2Jhost' })], 'table', '01JDX0000000000000000000AC');
  const lines = out.trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.ok(lines[0]!.startsWith('  TIME'));
  assert.ok(lines[1]!.startsWith('  2026-11-26T02:12:00.000Z  HK'));
  assert.ok(lines[2]!.startsWith('> '));
  assert.ok(!out.includes('\u001b'), 'escape sequences are not passed to the terminal');
  assert.ok(out.includes('evil\\x1b[2Jhost'));
  const col = lines[0]!.indexOf('HOST');
  assert.equal(lines[1]!.indexOf('mini-hk-03'), col);
  assert.equal(table(['a', 'bb'], [['xxx', '1']]), 'A    BB\nxxx  1\n');
});

void test('counts: hour in RFC 3339, null keys, four formats', () => {
  const rows = [{ hour: Date.parse('2026-11-26T02:00:00Z'), error: null, count: 3 }];
  assert.deepEqual(JSON.parse(formatCounts(['hour', 'error'], rows, 'json')), [{ hour: '2026-11-26T02:00:00.000Z', error: null, count: 3 }]);
  assert.equal(formatCounts(['hour', 'error'], rows, 'ndjson'), '{"hour":"2026-11-26T02:00:00.000Z","error":null,"count":3}\n');
  assert.equal(formatCounts(['hour', 'error'], rows, 'csv'), 'hour,error,count\r\n2026-11-26T02:00:00.000Z,,3\r\n');
  assert.match(formatCounts(['hour', 'error'], rows, 'table'), /^HOUR\s+ERROR\s+COUNT\n2026-11-26T02:00:00.000Z\s+3\n$/);
});
