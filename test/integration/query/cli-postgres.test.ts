/** `signwatch store import` and `signwatch query` against the real PostgreSQL server ($SIGNWATCH_STORE in env). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import pg from 'pg';
import { fixture } from '../../unit/query/store-suite.js';

const PG_URL = process.env.SIGNWATCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MAIN = resolve('dist/services/cli/main.js');

void test('postgres via the CLI: import (dedup, bad lines), the postmortem query, counts, SQL-looking values', async () => {
  const schema = `sw_cli_${process.pid}_${Date.now().toString(36)}`;
  const env = { ...process.env, SIGNWATCH_STORE: `${PG_URL}?schema=${schema}` };
  const sw = (args: string[], input?: string) => spawnSync(process.execPath, [MAIN, ...args], { env, input, encoding: 'utf8', timeout: 30_000 });
  try {
    const data = fixture();
    const ndjson = `${data.map((d) => d.raw).join('\n')}\n${data[0]!.raw}\n{"v":2}\n`;
    const imp = sw(['store', 'import', '-'], ndjson);
    assert.equal(imp.status, 0, imp.stderr);
    assert.match(imp.stderr, /line 14: schema: /);
    assert.match(imp.stderr, /14 lines, 12 new, 1 already stored, 1 bad/);
    const q = sw(['query', '--host', 'mini-hk-03', '--since', '2026-11-26T02:10:00Z', '--until', '2026-11-26T02:40:00Z', '--outcome', 'fail']);
    assert.equal(q.status, 0, q.stderr);
    assert.equal(q.stdout, [2, 3, 5].map((i) => `${data[i]!.raw}\n`).join(''));
    assert.equal(sw(['query', '--correlation-id', "ci-1'; DROP TABLE events; --"]).stdout, `${data[10]!.raw}\n`);
    const c = sw(['query', '--count-by', 'region', '-o', 'ndjson']);
    assert.equal(c.stdout, ['HK', 'JP', 'SG', 'US'].map((r, i) => `{"region":"${r}","count":${[7, 2, 2, 1][i]}}\n`).join(''));
    const st = JSON.parse(sw(['store', 'stats']).stdout) as { kind: string; events: number };
    assert.deepEqual([st.kind, st.events], ['postgres', 12]);
  } finally {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  }
});
