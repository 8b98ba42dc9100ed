/** `--quiet` means the same in every command that has it: bad lines summarised by reason, not listed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BadLineTally } from '../../../services/platform/cli.js';
import { COMMANDS } from '../../../services/cli/commands.js';
import { T0, kcFail } from '../engine/helpers.js';

const MAIN = resolve('dist/services/cli/main.js');
const sw = (args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, SIGNWATCH_STORE: '' }, timeout: 30_000 });

void test('store import --quiet and replay --quiet: no "line N" list, one summary with the bad lines by reason', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-quiet-'));
  try {
    const file = join(dir, 'in.ndjson');
    const bad = ['garbage', '{"v":2}', '{"v":1,"type":"codesign"}', 'nope', '[1'];
    writeFileSync(file, [JSON.stringify(kcFail(T0)), ...bad, JSON.stringify(kcFail(T0 + 1000))].join('\n') + '\n');
    const store = `sqlite:${join(dir, 'e.db')}`;

    const loud = sw(['store', 'import', file, '--store', store]);
    assert.equal(loud.status, 0, loud.stderr);
    assert.equal(loud.stderr.match(/^line \d+: /gm)?.length, 5, loud.stderr);
    const quiet = sw(['store', 'import', file, '--store', store, '--quiet']);
    assert.equal(quiet.status, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /^line \d+: /m);
    assert.match(quiet.stderr, /7 lines, 0 new, 2 already stored, 5 bad: not JSON 3, schema 2 \(/);
    assert.equal(quiet.stderr.trim().split('\n').length, 1, quiet.stderr);

    const rLoud = sw(['replay', file]);
    assert.equal(rLoud.stderr.match(/in\.ndjson:\d+: skipped: /g)?.length, 5, rLoud.stderr);
    const rQuiet = sw(['replay', '--quiet', file]);
    assert.equal(rQuiet.status, 0, rQuiet.stderr);
    assert.doesNotMatch(rQuiet.stderr, /skipped/);
    assert.match(rQuiet.stderr, /invalid 5, .*; bad lines: not JSON 3, schema 2\n$/);
    assert.equal(rQuiet.stderr.trim().split('\n').length, 1, rQuiet.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('every command whose help offers --quiet says the same thing about it', () => {
  const withQuiet: string[] = [];
  for (const name of Object.keys(COMMANDS)) {
    const r = sw([name, '--help']);
    const line = r.stdout.split('\n').find((l) => /--quiet\b/.test(l));
    if (!line) continue;
    withQuiet.push(name);
    assert.match(line, /summari[sz]ed.*not listed/, `signwatch ${name} --help: ${line}`);
  }
  assert.deepEqual(withQuiet.sort(), ['replay', 'store']);
  const t = new BadLineTally();
  for (const r of ['schema: v: x', 'not JSON: y', 'schema: type: z', 'oversized: 1 bytes']) t.add(r);
  assert.equal(t.total, 4);
  assert.equal(t.summary(), 'schema 2, not JSON 1, oversized 1');
  assert.equal(new BadLineTally().summary(), '');
});
