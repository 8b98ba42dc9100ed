/**
 * issue 16 item 9: line splitting joins a line's chunks once (linear; the timing is in bench/RESULTS.md, not here),
 * a line over the maximum is reported by its number and skipped while the lines around it are kept, in every
 * command that reads NDJSON (store import, replay). And item 11: "not JSON" reasons print no raw control bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { forEachLine, LineSplitter, parseMaxLineBytes, DEFAULT_MAX_LINE_BYTES } from '../../../services/platform/lines.js';
import { simulate } from '../../../services/simulate/simulate.js';
import { parseEvent } from '../../../schemas/events.js';
import { hasControl } from '../../../services/platform/text.js';
import { SqliteEventStore } from '../../../services/query/sqlite-store.js';

const MAIN = resolve('dist/services/cli/main.js');
const env = { ...process.env, SIGNWATCH_STORE: '', COLUMNS: '' };
const sw = (args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env, timeout: 60_000, maxBuffer: 64 << 20 });

/** Deterministic pseudo-random chunking of a buffer. */
function chunks(b: Buffer, seed: number): Buffer[] {
  const out: Buffer[] = [];
  let x = seed;
  for (let i = 0; i < b.length; ) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const n = 1 + (x % 37);
    out.push(b.subarray(i, i + n));
    i += n;
  }
  return out;
}

void test('issue 16 item 9: the splitter gives the same lines as split() whatever the chunk boundaries (CRLF, UTF-8, no final newline)', async () => {
  const text = 'a\r\nbé€c\n\n{"x":"ü"}\r\nlast-no-newline';
  const want = ['a', 'bé€c', '', '{"x":"ü"}', 'last-no-newline'];
  for (let seed = 1; seed < 50; seed++) {
    const got: string[] = [];
    const n = await forEachLine(Readable.from(chunks(Buffer.from(text), seed)), (l) => got.push(l));
    assert.deepEqual(got, want, `seed ${seed}`);
    assert.equal(n, 5);
  }
});

void test('issue 16 item 9: a line over the maximum is reported with its number and length, the lines around it kept', async () => {
  const long = 'x'.repeat(5000);
  const text = `one\n${long}\ntwo\r\n${long}`;
  for (const seed of [1, 2, 3]) {
    const got: Array<[string, number]> = [];
    const tooLong: Array<[number, number]> = [];
    const n = await forEachLine(Readable.from(chunks(Buffer.from(text), seed)), (l, no) => got.push([l, no]), {
      maxLineBytes: 1024,
      onTooLong: (no, bytes) => tooLong.push([no, bytes]),
    });
    assert.deepEqual(got, [['one', 1], ['two', 3]]);
    assert.deepEqual(tooLong, [[2, 5000], [4, 5000]]);
    assert.equal(n, 4);
  }
  // exactly at the limit is kept
  const s = new LineSplitter({ maxLineBytes: 4 });
  const kept: string[] = [];
  s.push(Buffer.from('abcd\nabcde\n'), (l) => kept.push(l));
  assert.deepEqual(kept, ['abcd']);
  assert.equal(DEFAULT_MAX_LINE_BYTES, 16 * 1024 * 1024);
  assert.equal(parseMaxLineBytes('replay', '64KiB'), 65536);
  assert.equal(parseMaxLineBytes('replay', '16M'), 16 << 20);
  assert.throws(() => parseMaxLineBytes('replay', 'lots'), /--max-line-bytes: "lots" must be a size/);
});

void test('issue 16 item 9: store import keeps the 200 good lines around a line over the default 16 MiB maximum', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-lines-'));
  try {
    const good = [...simulate({ start: Date.parse('2026-11-20T00:00:00Z'), events: 200, heartbeatEvery: 0, incidents: [], duplicateRate: 0, lateRate: 0, malformedRate: 0 })].slice(0, 200);
    assert.equal(good.length, 200);
    const huge = `{"v":1,"pad":"${'y'.repeat(DEFAULT_MAX_LINE_BYTES + 10)}"}`;
    const file = join(dir, 'in.ndjson');
    writeFileSync(file, `${[...good.slice(0, 100), huge, ...good.slice(100)].join('\n')}\n`);
    const r = sw(['store', 'import', file, '--store', `sqlite:${join(dir, 'events.db')}`]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^line 101: line too long: ${huge.length} bytes > ${DEFAULT_MAX_LINE_BYTES} \\(skipped\\)$`, 'm'));
    assert.match(r.stderr, /201 lines, 200 new, 0 already stored, 1 bad/);
    const store = new SqliteEventStore(join(dir, 'events.db'), { mustExist: true });
    await store.open();
    assert.equal((await store.stats()).events, 200);
    await store.close();
    // the same through replay with a smaller maximum given on the command line
    const small = join(dir, 'small.ndjson');
    writeFileSync(small, `${good[0]}\n${'z'.repeat(5000)}\n${good[1]}\n`);
    const p = sw(['replay', '--max-line-bytes', '4KiB', small]);
    assert.equal(p.status, 0, p.stderr);
    assert.match(p.stderr, /:2: skipped: line too long: 5000 bytes > 4096 \(skipped\)/);
    assert.match(p.stderr, /read 3, valid 2, invalid 1/);
    const bad = sw(['store', 'import', small, '--max-line-bytes', '12', '--store', `sqlite:${join(dir, 'x.db')}`]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /signwatch store import: --max-line-bytes: "12" must be a size from 1KiB to 1GiB/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('issue 16 item 11: "not JSON" and schema reasons escape control bytes (ESC, CR, NUL): replay and store import print none raw', () => {
  const r = parseEvent('\u001b[31mred\u001b[0m\r\u0000');
  assert.equal(r.ok, false);
  assert.ok(!r.ok && !hasControl(r.reason), !r.ok ? r.reason : '');
  assert.ok(!r.ok && r.reason.startsWith('not JSON: ') && r.reason.includes('\\x1b'));
  const s = parseEvent('{"v":1,"type":"\u001b[2Jx"}');
  assert.ok(!s.ok && !hasControl(s.reason), !s.ok ? s.reason : '');
  const dir = mkdtempSync(join(tmpdir(), 'sw-lines-'));
  try {
    const file = join(dir, 'esc.ndjson');
    writeFileSync(file, '\u001b]0;pwned\u0007\u001b[2J{"v":1}\n');
    for (const args of [['replay', file], ['store', 'import', file, '--store', `sqlite:${join(dir, 'e.db')}`]]) {
      const p = sw(args);
      assert.equal(p.status, 0, p.stderr);
      assert.match(p.stderr, /not JSON: .*\\x1b/);
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(p.stderr, /[\u0000-\u0008\u000b-\u001f\u007f]/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
