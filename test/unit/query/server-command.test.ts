/** `signwatch query-server`: refuses a non-loopback bind without a token (exit 2), serves and stops on SIGTERM. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SqliteEventStore } from '../../../services/query/sqlite-store.js';
import { fixture } from './store-suite.js';

const MAIN = resolve('dist/services/cli/main.js');

void test('query-server: token required off loopback; serves on 127.0.0.1; exits 0 on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-query-srv-'));
  const path = join(dir, 'events.db');
  const store = new SqliteEventStore(path);
  await store.open();
  await store.insertBatch(fixture());
  await store.close();
  const env = { ...process.env, SIGNWATCH_STORE: `sqlite:${path}`, SIGNWATCH_QUERY_TOKEN: '' };
  try {
    const refused = spawnSync(process.execPath, [MAIN, 'query-server', '--listen', '0.0.0.0:0'], { env, encoding: 'utf8', timeout: 20_000 });
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /--token-file: is required when binding 0\.0\.0\.0/);
    const badListen = spawnSync(process.execPath, [MAIN, 'query-server', '--listen', 'localhost'], { env, encoding: 'utf8', timeout: 20_000 });
    assert.equal(badListen.status, 2);
    assert.match(badListen.stderr, /--listen: "localhost" must be HOST:PORT/);

    const child = spawn(process.execPath, [MAIN, 'query-server', '--listen', '127.0.0.1:0'], { env });
    try {
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      const until = Date.now() + 120_000;
      let m: RegExpExecArray | null = null;
      while (!(m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err)) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      assert.ok(m, `server did not start: ${err}`);
      const res = await fetch(`${m[1]}/v1/events?region=JP`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { count: number }).count, 2);
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
