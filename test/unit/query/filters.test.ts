/** The shared request schema: the same input gives the same request from flags and from query parameters. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQuery, parseTime } from '../../../services/query/filters.js';

const NOW = Date.parse('2026-11-26T03:00:00.000Z');

void test('times: RFC 3339 with offset or Z, no offset = UTC, relative, now', () => {
  assert.equal(parseTime('2026-11-26T02:10:00Z', NOW), Date.parse('2026-11-26T02:10:00.000Z'));
  assert.equal(parseTime('2026-11-26T11:10:00+09:00', NOW), Date.parse('2026-11-26T02:10:00.000Z'));
  assert.equal(parseTime('2026-11-26T02:10', NOW), Date.parse('2026-11-26T02:10:00.000Z'));
  assert.equal(parseTime('2h', NOW), NOW - 7_200_000);
  assert.equal(parseTime('30m', NOW), NOW - 1_800_000);
  assert.equal(parseTime('7d', NOW), NOW - 7 * 86_400_000);
  assert.equal(parseTime('1w', NOW), NOW - 7 * 86_400_000);
  assert.equal(parseTime('now', NOW), NOW);
  for (const bad of ['yesterday', '2h ago', '-2h', '2026-13-01T00:00:00Z', '1700000000', '']) assert.equal(parseTime(bad, NOW), undefined, bad);
});

void test('a full request normalises every filter', () => {
  const r = parseQuery(
    {
      since: '2026-11-26T02:10:00Z',
      until: '2026-11-26T02:40:00Z',
      region: ['hk,jp', 'HK'],
      host: ['mini-hk-03'],
      type: ['codesign'],
      outcome: ['FAIL'],
      error: ['errSecInternalComponent'],
      keychain: ['/a,b.keychain-db'],
      partition: ['teamid:ABCDE12345'],
      'correlation-id': ['ci-1', 'ci-2'],
      'invocation-id': ['inv-9'],
      limit: '50',
      order: 'desc',
    },
    NOW,
    'flag',
  );
  assert.ok(r.ok);
  assert.deepEqual(r.request, {
    filters: {
      since: Date.parse('2026-11-26T02:10:00Z'),
      until: Date.parse('2026-11-26T02:40:00Z'),
      region: ['HK', 'JP'],
      host: ['mini-hk-03'],
      type: ['codesign'],
      outcome: ['fail'],
      error: ['errSecInternalComponent'],
      keychain: ['/a,b.keychain-db'],
      partition: ['teamid:ABCDE12345'],
      correlationId: ['ci-1', 'ci-2'],
      invocationId: ['inv-9'],
    },
    limit: 50,
    order: 'desc',
  });
});

void test('around: default ±10 events; counts or spans', () => {
  const id = '01JDX0000000000000000000AB';
  const a = parseQuery({ around: id }, NOW, 'flag');
  assert.ok(a.ok);
  assert.deepEqual(a.request.around, { id, before: { events: 10 }, after: { events: 10 } });
  const b = parseQuery({ around: id, before: '5m', after: '3' }, NOW, 'flag');
  assert.ok(b.ok);
  assert.deepEqual(b.request.around, { id, before: { ms: 300_000 }, after: { events: 3 } });
});

void test('bad input names the flag (CLI) or the parameter (HTTP)', () => {
  const cases: [Record<string, string | string[]>, RegExp][] = [
    [{ since: 'yesterday' }, /^--since: "yesterday" is not a time/],
    [{ since: '1h', until: '2h' }, /^--until: must be after --since/],
    [{ region: ['EU'] }, /^--region: "EU" is not one of HK, JP, KR, SG, US/],
    [{ type: ['codesgn'] }, /^--type: "codesgn" is not one of/],
    [{ outcome: ['maybe'] }, /^--outcome: /],
    [{ around: "1'; DROP TABLE events; --" }, /^--around: must be a ULID or a UUIDv7/],
    [{ before: '3' }, /^--before: only makes sense with --around/],
    [{ around: '01JDX0000000000000000000AB', before: 'lots' }, /^--before: "lots" is neither/],
    [{ 'count-by': ['hour,week'] }, /^--count-by: "week" is not one of hour, region, host, type, outcome, error/],
    [{ around: '01JDX0000000000000000000AB', 'count-by': ['hour'] }, /^--count-by: cannot be combined with --around/],
    [{ limit: '0' }, /^--limit: "0" must be an integer from 1 to 100000/],
    [{ limit: '1e3' }, /^--limit: /],
    [{ order: 'up' }, /^--order: must be asc or desc/],
    [{ host: [''] }, /^--host: /],
    [{ colour: 'red' }, /^--colour: unknown filter/],
  ];
  for (const [input, re] of cases) {
    const r = parseQuery(input, NOW, 'flag');
    assert.equal(r.ok, false, JSON.stringify(input));
    if (!r.ok) assert.match(r.message, re, JSON.stringify(input));
  }
  const p = parseQuery({ 'correlation-id': ['x'], since: 'soon' }, NOW, 'param');
  assert.ok(!p.ok);
  assert.equal(p.key, 'since');
  assert.match(p.message, /^since: "soon" is not a time/);
});

void test('SQL-looking free-text values pass through untouched', () => {
  const r = parseQuery({ host: ["x' OR '1'='1"], error: ['%'], keychain: ['_;--'] }, NOW, 'param');
  assert.ok(r.ok);
  assert.deepEqual(r.request.filters, { host: ["x' OR '1'='1"], error: ['%'], keychain: ['_;--'] });
});
