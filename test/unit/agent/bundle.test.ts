/** The exec hot path: bin/signwatch runs `agent exec` from the single CommonJS bundle that `npm run build` writes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, cli, fixture, sandbox, spooled } from './helpers.js';

const bundle = join(process.cwd(), 'dist', 'agent-exec.cjs');

test('the exec bundle exists and carries no Kafka client, OpenTelemetry, pino or zod', () => {
  assert.ok(existsSync(bundle), 'npm run build writes dist/agent-exec.cjs');
  const text = readFileSync(bundle, 'utf8');
  for (const heavy of ['kafkajs', '@opentelemetry', 'pino', 'zod']) assert.ok(!text.includes(`node_modules/${heavy}`), `${heavy} is not bundled`);
});

test('agent exec through the bundle: exit code, stderr and the spooled event are those of the ESM path', () => {
  const sb = sandbox();
  const r = cli(['agent', 'exec', '--', 'codesign', '-s', 'ABCDEF', 'App.app'], { ...sb.env, FAKE_CODESIGN: 'codesign-errSecInternalComponent__replacing-existing' });
  assert.equal(r.status, 1);
  assert.equal(r.stderr.toString(), fixture('codesign-errSecInternalComponent__replacing-existing.txt'));
  const events = spooled(sb.dataDir);
  assert.equal(events.length, 1);
  assert.equal((events[0]!.error as { code: string; class: string }).code, 'errSecInternalComponent');
  const usage = cli(['agent', 'exec'], sb.env);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr.toString(), /missing '-- <tool>/);
  sb.cleanup();
});

test('agent exec loads no node:crypto (its ids and span ids come from /dev/urandom: the load was its largest start-up cost)', () => {
  const sb = sandbox();
  const preload = join(sb.dir, 'modules.cjs');
  const out = join(sb.dir, 'modules.txt');
  writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, process.moduleLoadList.join('\\n')));\n`);
  const r = spawnSync(process.execPath, ['-r', preload, BIN, 'agent', 'exec', '--', 'codesign', '-s', 'ABCDEF', 'App.app'], { env: { ...sb.env, TRACEPARENT: '' }, timeout: 20_000 });
  assert.equal(r.status, 0, String(r.stderr));
  assert.equal(spooled(sb.dataDir).length, 1, 'the event was recorded');
  const loaded = readFileSync(out, 'utf8').split('\n');
  assert.ok(loaded.includes('NativeModule fs'), 'the module list was read');
  assert.deepEqual(loaded.filter((m) => /^NativeModule (internal\/)?crypto/.test(m)), []);
  sb.cleanup();
});
