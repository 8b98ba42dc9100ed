/** `agent exec`'s options read without util.parseArgs: the same values as parseArgs wherever it answers at all. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { EXEC_OPTIONS, quickExecOptions } from '../../../services/agent/commands/exec.js';

const TOKENS = ['--config', '/etc/a.json', '--config=/x', '--config=', '--sink', '-', 'ndjson:/tmp/e', '--sink=-', '--password-fd', '3', '--password-fd=4', '--scan-output', '--scan-output=1', '-x', '--bogus', 'pos', '--help', '-h', '--conf', '-c', ''];

/** Every sequence of up to `n` tokens. */
function* sequences(n: number): Generator<string[]> {
  yield [];
  if (n === 0) return;
  for (const rest of sequences(n - 1)) {
    if (rest.length !== n - 1) continue;
    for (const t of TOKENS) yield [...rest, t];
  }
}

function viaParseArgs(head: string[]): Record<string, unknown> | 'error' {
  try {
    return { ...parseArgs({ args: head, options: EXEC_OPTIONS, allowPositionals: false, strict: true }).values };
  } catch {
    return 'error';
  }
}

test('quickExecOptions gives parseArgs values, or leaves the argv to parseArgs (every sequence of up to 3 tokens)', () => {
  let quick = 0;
  let checked = 0;
  for (let n = 0; n <= 3; n++) {
    for (const head of sequences(n)) {
      if (head.length !== n) continue;
      checked++;
      const q = quickExecOptions(head);
      if (q === undefined) continue;
      quick++;
      assert.deepEqual({ ...q }, viaParseArgs(head), JSON.stringify(head));
    }
  }
  assert.ok(checked > 9000, `${checked} sequences`);
  assert.ok(quick > 100, `${quick} sequences read without parseArgs`);
});

test('quickExecOptions: the plain spellings are read, the rest is left to parseArgs', () => {
  assert.deepEqual(quickExecOptions([]), {});
  assert.deepEqual(quickExecOptions(['--config', '/a.json', '--sink=ndjson:/e', '--scan-output']), { config: '/a.json', sink: 'ndjson:/e', 'scan-output': true });
  assert.deepEqual(quickExecOptions(['--sink', '-']), { sink: '-' });
  assert.deepEqual(quickExecOptions(['--config', 'a', '--config', 'b']), { config: 'b' });
  for (const head of [['--help'], ['-h'], ['--config'], ['--config', '-x'], ['--bogus'], ['pos'], ['--scan-output=1'], ['--conf', 'a']]) {
    assert.equal(quickExecOptions(head), undefined, JSON.stringify(head));
  }
});
