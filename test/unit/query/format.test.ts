import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventTable, formatCounts, formatEvents, table } from '../../../services/query/format.js';
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
  assert.ok(lines[0]!.startsWith('  ID  '));
  assert.ok(lines[1]!.startsWith('  01JDX0000000000000000000AB  2026-11-26T02:12:00.000Z  HK'));
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

void test('table fits the terminal width: ID first, the message last and cut with …, optional columns dropped', () => {
  const long = 'codesign failed: errSecInternalComponent while signing /Users/ci/build/App.app/Contents/Frameworks/Foo.framework/Versions/A';
  const evs = [ev({ raw: JSON.stringify({ v: 1, error: { message: long } }) }), ev({ id: '01JDX0000000000000000000AC', raw: JSON.stringify({ v: 1, error: { message: 'short' } }) })];
  for (const width of [60, 80, 120, 160, 200, 400]) {
    const out = formatEvents(evs, 'table', undefined, width);
    const lines = out.trimEnd().split('\n');
    for (const l of lines) assert.ok(l.length <= width, `width ${width}: ${l.length} > ${width}: ${l}`);
    assert.ok(lines[0]!.startsWith('ID '), lines[0]);
    assert.ok(lines[1]!.startsWith('01JDX0000000000000000000AB  '), 'the whole ID is there to copy');
  }
  const wide = formatEvents(evs, 'table', undefined, 400).split('\n');
  assert.ok(wide[0]!.endsWith('MESSAGE'));
  assert.ok(wide[1]!.endsWith(long), 'a wide terminal shows the whole message');
  for (const col of ['KEYCHAIN', 'CORRELATION', 'INVOCATION']) assert.ok(wide[0]!.includes(col));
  assert.ok(!wide[0]!.includes('PARTITIONS'), 'a column empty in every row is left out');
  const mid = formatEvents(evs, 'table', undefined, 160).split('\n');
  assert.ok(mid[0]!.includes('MESSAGE') && !mid[0]!.includes('INVOCATION'), mid[0]);
  assert.ok(mid[1]!.endsWith('…') && mid[1]!.length === 160, mid[1]);
  assert.ok(mid[2]!.endsWith('short'));
  assert.equal(formatEvents(evs, 'table'), eventTable(evs, 120), 'default width 120');
  const anchored = eventTable(evs, 100, '01JDX0000000000000000000AC').split('\n');
  assert.ok(anchored[2]!.startsWith('> 01JDX0000000000000000000AC') && anchored.every((l) => l.length <= 100));
});

void test('--around in csv, ndjson and json marks the anchor; the other events stay byte for byte', () => {
  const a = ev({});
  const b = ev({ id: '01JDX0000000000000000000AC', raw: '{"v":1,"x":"b"}' });
  const nd = formatEvents([a, b], 'ndjson', b.id).split('\n');
  assert.equal(nd[0], a.raw);
  assert.deepEqual(JSON.parse(nd[1]!), { anchor: true, v: 1, x: 'b' });
  const js = JSON.parse(formatEvents([a, b], 'json', b.id)) as Record<string, unknown>[];
  assert.equal(js[0]!.anchor, undefined);
  assert.equal(js[1]!.anchor, true);
  const [header, r1, r2] = formatEvents([a, b], 'csv', b.id).split('\r\n');
  assert.ok(header!.endsWith(',id,anchor'));
  assert.ok(r1!.endsWith(`,${a.id},`) && r2!.endsWith(`,${b.id},true`));
  assert.ok(!formatEvents([a, b], 'csv').split('\r\n')[0]!.includes('anchor'), 'no anchor column without --around');
});
