/**
 * issue 16 item 13: a command whose reader goes away (`signwatch query … | head -1`) ends quietly with status 0,
 * like grep: no `Error: write EPIPE` stack. A real pipe, closed by the reader after its first bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SqliteEventStore } from '../../../services/query/sqlite-store.js';
import { mk, T0 } from '../query/store-suite.js';

const MAIN = resolve('dist/services/cli/main.js');

/** Run the CLI, read its first stdout chunk, then close our end of the pipe; resolve with its exit and stderr. */
function headOne(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; got: number }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, SIGNWATCH_STORE: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let got = 0;
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdout.once('data', (b: Buffer) => {
      got = b.length;
      child.stdout.destroy(); // the reader is gone: the next writes get EPIPE
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stderr, got });
    });
  });
}

void test('issue 16 item 13: query (ndjson, csv) and simulate exit 0 without a stack when the reader closes the pipe early', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-epipe-'));
  try {
    const store = new SqliteEventStore(join(dir, 'events.db'));
    await store.open();
    await store.insertBatch(Array.from({ length: 20_000 }, (_, i) => mk({ ts: T0 + i * 1000 })));
    await store.close();
    const spec = `sqlite:${join(dir, 'events.db')}`;
    for (const args of [
      ['query', '--store', spec, '--since', '2026-11-01T00:00:00Z', '--limit', '100000', '-o', 'ndjson'],
      ['query', '--store', spec, '--since', '2026-11-01T00:00:00Z', '--limit', '100000', '-o', 'csv'],
      ['simulate', '--events', '100000'],
    ]) {
      const r = await headOne(args);
      assert.ok(r.got > 0, `${args[0]}: some output was read`);
      assert.equal(r.signal, null, `${args.join(' ')}: killed by ${r.signal}`);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /EPIPE|Error:|\n\s+at /, args.join(' '));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
