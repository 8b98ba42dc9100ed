/** The exec hot path: bin/signwatch runs `agent exec` from the single CommonJS bundle that `npm run build` writes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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

test('bin/signwatch accepts the code cache of the exec bundle (made after real runs) and loads neither node:module nor util.parseArgs', () => {
  const bytes = readFileSync(bundle);
  assert.equal(bytes.findIndex((b) => b > 0x7f), -1, 'ASCII: one non-ASCII character makes V8 hold the whole source as UTF-16');
  const text = bytes.toString('latin1');
  const requires = [...text.matchAll(/\brequire\(\s*["'`]([^"'`]+)["'`]\s*\)/g)].map((m) => m[1]!);
  assert.ok(requires.length > 0);
  assert.deepEqual(requires.filter((r) => !r.startsWith('node:')), [], 'bin/signwatch hands the bundle its own require');
  const sb = sandbox();
  const preload = join(sb.dir, 'cache.cjs');
  const out = join(sb.dir, 'cache.json');
  // records what bin/signwatch's vm.Script made of the cache it was handed
  writeFileSync(
    preload,
    `const vm = require('node:vm');
const Script = vm.Script;
const seen = [];
vm.Script = class extends Script {
  constructor(source, options) {
    super(source, options);
    seen.push({ filename: options && options.filename, cached: Boolean(options && options.cachedData), rejected: this.cachedDataRejected === true });
  }
};
process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify({ seen, modules: process.moduleLoadList })));
`,
  );
  const r = spawnSync(process.execPath, ['-r', preload, BIN, 'agent', 'exec', '--', 'codesign', '-s', 'ABCDEF', 'App.app'], { env: sb.env, timeout: 20_000 });
  assert.equal(r.status, 0, String(r.stderr));
  assert.equal(spooled(sb.dataDir).length, 1, 'the event was recorded');
  const { seen, modules } = JSON.parse(readFileSync(out, 'utf8')) as { seen: { filename: string; cached: boolean; rejected: boolean }[]; modules: string[] };
  assert.deepEqual(seen, [{ filename: bundle, cached: true, rejected: false }]);
  assert.ok(modules.includes('NativeModule vm'), 'the module list was read');
  assert.ok(!modules.includes('NativeModule module'), 'node:module (and the ESM loader it loads) stays out');
  assert.ok(!modules.includes('NativeModule internal/util/parse_args/parse_args'), 'no options before --: util.parseArgs is not loaded');
  assert.ok(statSync(`${bundle}.cache`).size > statSync(bundle).size / 2, 'the cache holds the functions a run compiles, not only the module bodies');
  sb.cleanup();
});
