/**
 * One error style everywhere: `signwatch <cmd>: <what>: <why>`. Unknown flags (node's parseArgs reworded, the
 * subcommand named), events of another version or type, region errors (gate and query, CLI and HTTP), a missing
 * processor config.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandName, usageMessage } from '../../../services/platform/cli.js';
import { validateEvent, parseEvent, badRegion } from '../../../schemas/events.js';
import { fastValidate } from '../../../schemas/validate.js';
import { ReleaseGate } from '../../../services/alerting/release-gate.js';
import { startGateServer } from '../../../services/alerting/gate-server.js';
import { defaultPolicy } from '../../../services/engine/policy.js';
import { prefixLines } from '../../../services/processor/cli.js';

const MAIN = fileURLToPath(new URL('../../../services/cli/main.js', import.meta.url));
const sw = (args: string[], input?: string) => spawnSync(process.execPath, [MAIN, ...args], { input: input ?? '', encoding: 'utf8', timeout: 30_000 });
const dir = mkdtempSync(join(tmpdir(), 'sw-messages-'));
const STYLE = /^signwatch [a-z-]+(?: [a-z-]+)?: [^:\n]+: .+/;

void test('unknown flags: signwatch <cmd> [sub]: --flag: unknown option, then where the help is; exit 2', () => {
  for (const [args, name] of [
    [['replay', '--bogus', '-'], 'replay'],
    [['query', '--bogus'], 'query'],
    [['simulate', '--bogus'], 'simulate'],
    [['store', 'import', '--bogus', 'x'], 'store import'],
    [['store', '--store', 'sqlite:x', 'sweep', '--bogus'], 'store sweep'],
    [['gate', 'check', '--bogus'], 'gate check'],
    [['alerts', 'check', '--bogus'], 'alerts check'],
    [['dashboards', 'check', '--bogus'], 'dashboards check'],
    [['processor', '--bogus'], 'processor'],
  ] as const) {
    const r = sw([...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    const [first, second] = r.stderr.split('\n');
    assert.equal(first, `signwatch ${name}: --bogus: unknown option`, args.join(' '));
    assert.equal(second, `Try 'signwatch ${name} --help'.`);
    assert.doesNotMatch(r.stderr, /as in|To specify/);
  }
  const v = sw(['replay', '--until']);
  assert.equal(v.stderr.split('\n')[0], 'signwatch replay: --until: needs a value');
  const q = sw(['replay', '--quiet=yes', '-']);
  assert.equal(q.stderr.split('\n')[0], 'signwatch replay: --quiet: takes no value');
});

void test('the name in a parse error: the subcommand after flags and their values, not a flag value', () => {
  const opts = { store: { type: 'string' as const }, quiet: { type: 'boolean' as const, short: 'q' } };
  assert.equal(commandName('store', ['--store', 'import', 'sweep', '--x'], opts, ['import', 'sweep']), 'store sweep');
  assert.equal(commandName('store', ['-q', 'import'], opts, ['import', 'sweep']), 'store import');
  assert.equal(commandName('store', ['--store=sqlite:a', 'nosuch'], opts, ['import']), 'store');
  assert.equal(commandName('replay', ['-', '--bogus'], opts), 'replay');
  assert.equal(usageMessage('replay', `Unknown option '--bogus'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- "--bogus"`), 'signwatch replay: --bogus: unknown option');
});

void test('events of another version or an unknown type: "unsupported event version 2", not zod discriminator words', () => {
  const cases: [unknown, string][] = [
    [{ v: 2 }, 'schema: v: unsupported event version 2 (this signwatch reads version 1)'],
    [{ v: 2, type: 'codesign' }, 'schema: v: unsupported event version 2 (this signwatch reads version 1)'],
    [{ v: '1', type: 'codesign' }, 'schema: v: unsupported event version "1" (this signwatch reads version 1)'],
    [{ type: 'codesign' }, 'schema: v: missing event version (this signwatch reads version 1)'],
    [{ v: 1 }, 'schema: type: missing event type (one of codesign, unlock, notarize, cert, clock, heartbeat, acl, drill)'],
    [{ v: 1, type: 'nosuch' }, 'schema: type: unknown event type "nosuch" (one of codesign, unlock, notarize, cert, clock, heartbeat, acl, drill)'],
    [[1], 'schema: (root): an event is a JSON object, got an array'],
  ];
  for (const [json, reason] of cases) {
    assert.deepEqual(validateEvent(json), { ok: false, reason }, JSON.stringify(json));
    assert.deepEqual(fastValidate(json), { ok: false, reason }, `fast path: ${JSON.stringify(json)}`);
  }
  const inner = parseEvent(JSON.stringify({ v: 1, type: 'codesign', id: 'x' }));
  assert.ok(!inner.ok && /^schema: /.test(inner.reason) && !/version|event type/.test(inner.reason), 'a good envelope reports the issues inside');
  const f = join(dir, 'v2.ndjson');
  writeFileSync(f, '{"v":2}\n');
  const r = sw(['replay', f]);
  assert.match(r.stderr, /v2\.ndjson:1: skipped: schema: v: unsupported event version 2 /);
  assert.doesNotMatch(r.stderr, /discriminator/i);
});

void test('a bad region is worded the same by gate and query, CLI and HTTP', async () => {
  const words = badRegion('XX');
  assert.equal(words, '"XX" is not one of HK, JP, KR, SG, US');
  const gate = sw(['gate', 'check', '--region', 'XX']);
  assert.equal(gate.status, 2);
  assert.equal(gate.stderr.trim(), `signwatch gate check: --region: ${words}`);
  const missing = sw(['gate', 'override', '--reason', 'x']);
  assert.equal(missing.stderr.trim(), 'signwatch gate override: --region: required (one of HK, JP, KR, SG, US)');
  const query = sw(['query', '--region', 'XX', '--store', `sqlite:${join(dir, 'none.db')}`]);
  assert.equal(query.status, 2);
  assert.equal(query.stderr.split('\n')[0], `signwatch query: --region: ${words}`);
  for (const m of [gate.stderr, missing.stderr, query.stderr]) assert.match(m, STYLE);
  const server = await startGateServer(new ReleaseGate(defaultPolicy()), { port: 0 });
  try {
    const res = await fetch(`${server.url}/v1/release-gate?region=XX`);
    assert.equal(res.status, 400);
    assert.ok(JSON.stringify(await res.json()).includes(`region: ${words}`.replace(/"/g, '\\"')));
  } finally {
    await server.stop();
  }
});

void test('processor: a missing or bad config file is prefixed signwatch processor:, every line', () => {
  const gone = sw(['processor', '--check-config', '--config', join(dir, 'missing.yaml')]);
  assert.equal(gone.status, 2);
  assert.equal(gone.stderr.trim(), `signwatch processor: ${join(dir, 'missing.yaml')}: cannot read processor config: no such file`);
  const f = join(dir, 'bad.yaml');
  writeFileSync(f, 'kafka:\n  bogus: 1\n  other: 2\n');
  const bad = sw(['processor', '--check-config', '--config', f]);
  assert.equal(bad.status, 2);
  const lines = bad.stderr.trim().split('\n');
  assert.ok(lines.length >= 2, bad.stderr);
  for (const l of lines) assert.ok(l.startsWith(`signwatch processor: ${f}:`), l);
  const policy = sw(['processor', '--check-config', '--policy', join(dir, 'nopolicy.yaml')]);
  assert.equal(policy.status, 2);
  assert.equal(policy.stderr.trim(), `signwatch processor: ${join(dir, 'nopolicy.yaml')}: cannot read policy file: no such file`);
  assert.equal(prefixLines('p: ', 'a\np: b'), 'p: a\np: b');
});
