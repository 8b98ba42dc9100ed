/** The exec hot path: bin/signwatch runs `agent exec` from the single CommonJS bundle that `npm run build` writes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, fixture, sandbox, spooled } from './helpers.js';

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
