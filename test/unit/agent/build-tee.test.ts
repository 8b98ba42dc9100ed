/**
 * The build-log tees (the Node stream tee of tool-run.ts, the default, and services/agent/build/fast-tee.ts, the
 * worker-thread tee of SIGNWATCH_BUILD_TEE=worker): byte-exact output on a log several times the ring, every signing step scanned, the build
 * untouched when the wrapper's own stdout goes away, and no byte lost when the scanner falls behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RING_BYTES } from '../../../services/agent/build/fast-tee.js';
import { BIN, ROOT, sandbox, spooled, type Sandbox } from './helpers.js';

const LOGS = join(ROOT, 'test', 'fixtures', 'build-logs');
const STEPS = 48;

/** An xcodebuild-shaped log of > 3 rings: per step 64 KiB of random bytes on one line, compile lines, a real CodeSign block. */
function bigLog(path: string): Buffer {
  const block = readFileSync(join(LOGS, 'xcodebuild__codesign-errSecInternalComponent-gasmask.txt'), 'utf8').replace(/^Command CodeSign failed.*\n/m, '');
  const parts: Buffer[] = [];
  for (let i = 0; i < STEPS; i++) {
    const noise = randomBytes(64 * 1024);
    for (let k = 0; k < noise.length; k++) if (noise[k] === 10) noise[k] = 11;
    parts.push(noise, Buffer.from('\n'));
    for (let j = 0; j < 200; j++) parts.push(Buffer.from(`CompileSwift normal arm64 /src/F${i}/V${j}.swift (in target 'App' from project 'App')\n    cd /src\n\n`));
    parts.push(Buffer.from(block));
  }
  parts.push(Buffer.from('** ARCHIVE FAILED **\n'));
  const log = Buffer.concat(parts);
  assert.ok(log.length > 3 * RING_BYTES, `${log.length} bytes`);
  writeFileSync(path, log);
  return log;
}

function fakeXcodebuild(sb: Sandbox): NodeJS.ProcessEnv {
  const bin = join(sb.dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'xcodebuild'), '#!/bin/sh\nprintf \'%s\\n\' "$@" >&2\ncat "$FAKE_BUILD_LOG"\nexit "${FAKE_BUILD_EXIT:-0}"\n');
  chmodSync(join(bin, 'xcodebuild'), 0o755);
  return { ...sb.env, PATH: `${bin}:${sb.env.PATH ?? ''}` };
}

void test('a log over 3 rings long (binary noise included) comes out byte for byte and every signing step is recorded, through the stream tee and the worker tee', () => {
  const sb = sandbox({ keychain: '/Users/ci/signing.keychain-db' });
  try {
    const path = join(sb.dir, 'big.log');
    const log = bigLog(path);
    const env = { ...fakeXcodebuild(sb), FAKE_BUILD_LOG: path, FAKE_BUILD_EXIT: '65' };
    for (const mode of ['worker', 'stream']) {
      const before = spooled(sb.dataDir).length;
      const r = spawnSync(process.execPath, [BIN, 'agent', 'exec', '--', 'xcodebuild', 'archive', 'a b'], { env: { ...env, SIGNWATCH_BUILD_TEE: mode }, timeout: 120_000, maxBuffer: 64 << 20 });
      assert.equal(r.status, 65, `${mode}: ${r.stderr.toString()}`);
      assert.ok(Buffer.compare(r.stdout, log) === 0, `${mode}: stdout is the log byte for byte (${r.stdout.length} of ${log.length})`);
      assert.equal(r.stderr.toString(), 'archive\na b\n');
      const events = spooled(sb.dataDir).slice(before);
      assert.deepEqual(
        events.map((e) => [e.type, e.via, e.outcome]),
        Array.from({ length: STEPS }, () => ['codesign', 'xcodebuild', 'ok']),
      );
    }
    // the worker tee ran (it logs to agent-errors.log when it had to fall back mid-build)
    assert.equal(existsSync(join(sb.dataDir, 'agent-errors.log')) ? readFileSync(join(sb.dataDir, 'agent-errors.log'), 'utf8') : '', '');
  } finally {
    sb.cleanup();
  }
});

void test("the wrapper's stdout closed early (EPIPE): the build still runs to its end, its exit status is kept and its steps are recorded", async () => {
  const sb = sandbox({ keychain: '/Users/ci/signing.keychain-db' });
  try {
    const path = join(sb.dir, 'big.log');
    bigLog(path);
    const env = { ...fakeXcodebuild(sb), FAKE_BUILD_LOG: path, FAKE_BUILD_EXIT: '3' };
    for (const mode of ['worker', 'stream']) {
      const before = spooled(sb.dataDir).length;
      const child = spawn(process.execPath, [BIN, 'agent', 'exec', '--', 'xcodebuild', 'archive'], { env: { ...env, SIGNWATCH_BUILD_TEE: mode }, stdio: ['ignore', 'pipe', 'ignore'] });
      child.stdout.once('data', () => child.stdout.destroy()); // like `| head -c 1`
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on('exit', (c, s) => res([c, s])));
      assert.deepEqual([code, signal], [3, null], mode);
      assert.equal(spooled(sb.dataDir).length - before, STEPS, `${mode}: every step recorded`);
    }
  } finally {
    sb.cleanup();
  }
});

// the scanner's first chunk takes 1.5 s (to make the ring fill up meanwhile; the assertions hold either way): the
// worker waits for room, nothing is dropped from stdout or from what the scanner is handed, in order
const SLOW_SCANNER = `
const { openFastTee } = await import(process.argv[1]);
const { spawn } = await import('node:child_process');
const { createHash } = await import('node:crypto');
const h = createHash('sha256');
let n = 0;
let first = true;
const nap = new Int32Array(new SharedArrayBuffer(4));
const t = openFastTee((b) => {
  if (first) { first = false; Atomics.wait(nap, 0, 0, 1500); }
  n += b.length;
  h.update(b);
});
if (!t) { process.stderr.write('no fast tee'); process.exit(9); }
spawn('cat', [process.argv[2]], { stdio: ['ignore', t.fd, 'inherit'] });
t.started();
const r = await t.done;
process.stderr.write(JSON.stringify({ n, sha: h.digest('hex'), error: r.error ?? null }));
`;

void test('a scanner slower than the build: the worker waits for room in the ring, no byte is lost from stdout or from the scan', () => {
  const sb = sandbox();
  try {
    const path = join(sb.dir, 'big.log');
    const log = bigLog(path);
    const mod = join(ROOT, 'dist', 'services', 'agent', 'build', 'fast-tee.js');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', SLOW_SCANNER, mod, path], { timeout: 120_000, maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.ok(Buffer.compare(r.stdout, log) === 0, 'stdout byte for byte');
    assert.deepEqual(JSON.parse(r.stderr.toString()), { n: log.length, sha: createHash('sha256').update(log).digest('hex'), error: null });
  } finally {
    sb.cleanup();
  }
});
