/**
 * `signwatch store import` and `signwatch query` end to end: the real binary (dist) over a real SQLite file in
 * a unique temp dir; exit codes, stderr messages naming the flag, output formats, --around, --follow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SqliteEventStore } from '../../../services/query/sqlite-store.js';
import { fixture, mk, T0 } from './store-suite.js';

const MAIN = resolve('dist/services/cli/main.js');
const env = { ...process.env, SIGNWATCH_STORE: '', COLUMNS: '' };

function sw(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { input, encoding: 'utf8', env, timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'sw-query-cli-'));
  const data = fixture();
  const file = join(dir, 'events.ndjson');
  const lines = data.map((d) => d.raw);
  lines.splice(3, 0, '{"v":1,"id":"nope"}', 'garbage', '');
  lines.push(data[0]!.raw); // duplicate
  writeFileSync(file, `${lines.join('\n')}\n`);
  return { dir, data, file, store: `sqlite:${join(dir, 'events.db')}` };
}

void test('store import: validates, reports bad lines by number, dedups; re-import adds nothing', () => {
  const s = setup();
  try {
    const a = sw(['store', 'import', s.file, '--store', s.store]);
    assert.equal(a.code, 0, a.err);
    assert.match(a.err, /^line 4: schema: /m);
    assert.match(a.err, /^line 5: not JSON/m);
    assert.match(a.err, /16 lines, 12 new, 1 already stored, 2 bad/);
    const b = sw(['store', 'import', '-', '--store', s.store, '--strict'], `${s.data[1]!.raw}\nbad\n`);
    assert.equal(b.code, 1, 'strict: rejected lines make exit 1');
    assert.match(b.err, /2 lines, 0 new, 1 already stored, 1 bad/);
    const st = sw(['store', 'stats', '--store', s.store]);
    assert.equal((JSON.parse(st.out) as { events: number }).events, 12);
    assert.equal(sw(['store', 'import', join(s.dir, 'missing.ndjson'), '--store', s.store]).code, 1);
    assert.equal(sw(['store', 'import', '--store', s.store]).code, 2);
    assert.equal(sw(['store', 'frobnicate']).code, 2);
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

void test('query: filters, formats, --around, --count-by; bad usage exits 2 naming the flag', () => {
  const s = setup();
  try {
    assert.equal(sw(['store', 'import', s.file, '--store', s.store, '--quiet']).code, 0);
    const q = (...args: string[]) => sw(['query', '--store', s.store, ...args]);
    const fails = q('--host', 'mini-hk-03', '--since', '2026-11-26T02:10:00Z', '--until', '2026-11-26T02:40Z', '--outcome', 'fail');
    assert.equal(fails.code, 0, fails.err);
    assert.equal(fails.out, [2, 3, 5].map((i) => `${s.data[i]!.raw}\n`).join(''), 'ndjson (not a TTY): raw events, in time order');
    const sqlish = q('--host', "x' OR '1'='1", '-o', 'json');
    assert.deepEqual(JSON.parse(sqlish.out), [JSON.parse(s.data[10]!.raw)]);
    assert.equal(q('--error', '%').out, `${s.data[10]!.raw}\n`);
    assert.equal(q('--partition', 'teamid:ABCDE12345', '--correlation-id', 'ci-101').out, `${s.data[2]!.raw}\n`);
    const around = q('--around', s.data[5]!.event.id, '--before', '2', '--after', '1', '--host', 'mini-hk-03', '-o', 'table');
    assert.equal(around.code, 0, around.err);
    const rows = around.out.trimEnd().split('\n');
    assert.equal(rows.length, 5);
    assert.ok(rows[3]!.startsWith('> ') && rows[3]!.includes(s.data[5]!.event.id));
    const counts = q('--count-by', 'hour,region', '-o', 'csv');
    assert.equal(counts.out.split('\r\n')[0], 'hour,region,count');
    assert.ok(counts.out.includes(`${new Date(T0).toISOString()},HK,7`));
    const missing = q('--around', '01JDX0000000000000000000ZZ');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /--around: no event with id/);
    const bad: [string[], RegExp][] = [
      [['--since', 'yesterday'], /--since: "yesterday" is not a time/],
      [['--region', 'EU'], /--region: "EU" is not one of/],
      [['--output', 'xml'], /--output: "xml" is not one of table, json, ndjson, csv/],
      [['--follow', '--count-by', 'hour'], /--follow: cannot be combined with --count-by/],
      [['--limit', 'many'], /--limit: /],
      [['--frobnicate'], /--frobnicate/],
    ];
    for (const [args, re] of bad) {
      const r = q(...args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err, re);
    }
    const pw = sw(['query', '--store', 'postgres://u:hunter2@127.0.0.1/test']);
    assert.equal(pw.code, 2);
    assert.match(pw.err, /--store: do not put a password on the command line/);
    assert.ok(!pw.err.includes('hunter2'));
    const none = sw(['query', '--store', `sqlite:${join(s.dir, 'nope.db')}`]);
    assert.equal(none.code, 1);
    assert.match(none.err, /does not exist/);
    const help = sw(['query', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /--correlation-id/);
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

void test('query --follow prints the matches, then events stored later (late ones too), and stops on SIGTERM', async () => {
  const s = setup();
  const store = new SqliteEventStore(join(s.dir, 'events.db'));
  try {
    await store.open();
    await store.insertBatch(s.data);
    const child = spawn(process.execPath, [MAIN, 'query', '--store', s.store, '--follow', '--interval', '100ms', '--region', 'JP'], { env });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const waitFor = async (pred: () => boolean, what: string) => {
      const until = Date.now() + 120_000;
      while (!pred()) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}; got: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await waitFor(() => out.split('\n').length >= 3, 'the initial matches');
      assert.equal(out, `${s.data[7]!.raw}\n${s.data[8]!.raw}\n`);
      const late = mk({ ts: T0 - 3_600_000, host: 'mini-jp-02', region: 'JP' });
      const other = mk({ ts: T0 + 1000, host: 'mini-kr-01', region: 'KR' });
      await store.insertBatch([other, late]);
      await waitFor(() => out.includes(late.event.id), 'the followed event');
      assert.ok(!out.includes(other.event.id), 'filters apply while following');
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    await store.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});

void test('query says on stderr when its row limit cut the answer short (any format), and only then', () => {
  const s = setup();
  try {
    assert.equal(sw(['store', 'import', s.file, '--store', s.store, '--quiet']).code, 0);
    const cut = sw(['query', '--store', s.store, '--since', '2000-01-01T00:00:00Z', '--limit', '5', '-o', 'ndjson']);
    assert.equal(cut.code, 0, cut.err);
    assert.equal(cut.out.trim().split('\n').length, 5);
    assert.equal(cut.err, 'signwatch query: stopped at the limit of 5 events; more match (raise --limit or narrow the filters)\n');
    const exact = sw(['query', '--store', s.store, '--since', '2000-01-01T00:00:00Z', '--limit', '12', '-o', 'csv']);
    assert.equal(exact.out.trim().split('\r\n').length, 13, 'header + all 12');
    assert.equal(exact.err, '', 'all 12 fit: nothing to say');
    const table = sw(['query', '--store', s.store, '--since', '2000-01-01T00:00:00Z', '--limit', '3', '-o', 'table']);
    assert.match(table.err, /stopped at the limit of 3 events/);
    for (const l of table.out.trimEnd().split('\n')) assert.ok(l.length <= 120, `not a TTY: 120 columns (${l.length})`);
    assert.match(table.out, /^ID {2,}TIME/);
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});
