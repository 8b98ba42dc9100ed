/** `signwatch replay` and `signwatch simulate` as a user runs them: exit codes, stderr reports, outputs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { T0, min, kcFail, csOk } from '../engine/helpers.js';

const bin = join(process.cwd(), 'bin', 'signwatch');
const sw = (args: string[], input?: string) => spawnSync(process.execPath, [bin, ...args], { input, encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
const dir = mkdtempSync(join(tmpdir(), 'sw-replay-'));

test('replay prints transitions as NDJSON; bad lines are reported with line numbers and skipped', () => {
  const lines = [JSON.stringify(kcFail(T0)), 'not json', JSON.stringify(kcFail(T0 + min(1))), JSON.stringify({ ...kcFail(T0 + 2), region: 'EU' }), JSON.stringify(kcFail(T0 + min(2))), ''];
  const r = sw(['replay', '-'], lines.join('\n'));
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.alert, 'codesign_keychain_failures');
  assert.equal(out[0]!.state, 'firing');
  assert.equal(out[0]!.value, 3);
  assert.match(r.stderr, /stdin:2: skipped: not JSON/);
  assert.match(r.stderr, /stdin:4: skipped: schema: region/);
  assert.match(r.stderr, /read 5, valid 3, invalid 2, duplicate 0, late 0/);
});

test('replay --until resolves a quiet region; --hourly prints aggregates instead', () => {
  const f = join(dir, 'in.ndjson');
  writeFileSync(f, [kcFail(T0), kcFail(T0 + 1000), kcFail(T0 + 2000), csOk(T0 + 3000)].map((e) => JSON.stringify(e)).join('\n') + '\n');
  const r = sw(['replay', f, '--until', new Date(T0 + min(90)).toISOString()]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { state: string }).state), ['firing', 'resolved']);
  const h = sw(['replay', '--hourly', f]);
  assert.equal(h.status, 0, h.stderr);
  const aggs = h.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; host: string | null; codesign: { total: number; keychainFailed: number } });
  const region = aggs.find((a) => a.host === null)!;
  assert.equal(region.kind, 'hourly');
  assert.deepEqual([region.codesign.total, region.codesign.keychainFailed], [4, 3]);
});

test('replay exit codes: 1 unreadable input, 2 bad usage or bad policy', () => {
  assert.equal(sw(['replay', join(dir, 'missing.ndjson')]).status, 1);
  const noArg = sw(['replay']);
  assert.equal(noArg.status, 2);
  assert.match(noArg.stderr, /expected exactly one input/);
  const badFlag = sw(['replay', '--bogus', '-'], '');
  assert.equal(badFlag.status, 2);
  assert.match(badFlag.stderr, /--bogus/);
  assert.equal(sw(['replay', '--until', 'yesterday', '-'], '').status, 2);
  const pf = join(dir, 'policy.yaml');
  writeFileSync(pf, 'alerts:\n  unlock_latency_p95:\n    thresholdMs: fast\n');
  const bad = sw(['replay', '--policy', pf, '-'], '');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /alerts\.unlock_latency_p95\.thresholdMs/);
  const ok = sw(['replay', '--help']);
  assert.equal(ok.status, 0);
  assert.match(ok.stdout, /Usage: signwatch replay/);
});

test('replay --policy reads thresholds from the file', () => {
  const pf = join(dir, 'p3.yaml');
  writeFileSync(pf, 'alerts:\n  codesign_keychain_failures:\n    threshold: 3\n');
  const input = [kcFail(T0), kcFail(T0 + 1), kcFail(T0 + 2)].map((e) => JSON.stringify(e)).join('\n');
  assert.equal(sw(['replay', '-'], input).stdout.trim().split('\n').filter(Boolean).length, 1);
  assert.equal(sw(['replay', '--policy', pf, '-'], input).stdout.trim(), '');
});

test('simulate is reproducible and its demo scenario pages HK, warns SG and tickets a certificate', () => {
  const a = sw(['simulate', '--scenario', 'demo', '--events', '20000', '--seed', '5']);
  const b = sw(['simulate', '--scenario', 'demo', '--events', '20000', '--seed', '5']);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(a.stdout, b.stdout, 'same seed, same bytes');
  assert.notEqual(a.stdout, sw(['simulate', '--events', '20000', '--seed', '6']).stdout);
  const r = sw(['replay', '-', '--until', '2026-11-21T00:00:00.000Z'], a.stdout);
  const ts = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { alert: string; labels: { region: string }; state: string });
  const has = (alert: string, region: string, state: string) => ts.some((t) => t.alert === alert && t.labels.region === region && t.state === state);
  assert.ok(has('codesign_keychain_failures', 'HK', 'firing') && has('codesign_keychain_failures', 'HK', 'resolved'), r.stdout);
  assert.ok(has('unlock_latency_p95', 'SG', 'firing') && has('unlock_latency_p95', 'SG', 'resolved'), r.stdout);
  assert.ok(has('cert_expiry', 'US', 'firing'), r.stdout);
  assert.ok(!ts.some((t) => t.alert === 'codesign_keychain_failures' && t.labels.region !== 'HK'), 'no page outside the incident region');
  assert.equal(sw(['simulate', '--incident', 'meltdown:HK@1h']).status, 2);
  assert.equal(sw(['simulate', '--events', 'many']).status, 2);
});

test('defaults show what the tools are for: plain simulate | replay pages, resolves, warns and tickets', () => {
  const help = sw(['simulate', '--help']).stdout;
  for (const promise of ['HK keychain lock', 'SG slow vault', 'US cert']) assert.ok(help.includes(promise), `the help promises ${promise}`);
  const gen = sw(['simulate']);
  assert.equal(gen.status, 0, gen.stderr);
  const lines = gen.stdout.trim().split('\n');
  const beats = lines.filter((l) => l.includes('"type":"heartbeat"')).length;
  assert.ok(lines.length > 25_000 && beats > 25 * 60 * 3, `25 000 traffic events plus every host's heartbeat once a minute (${lines.length} lines, ${beats} heartbeats)`);
  const last = Date.parse((JSON.parse(lines.at(-1)!) as { ts: string }).ts) - Date.parse('2026-11-20T00:00:00.000Z');
  assert.ok(last > 3 * 3_600_000, `the default run reaches past +3h (ends at +${(last / 60_000).toFixed(0)} min)`);
  const r = sw(['replay', '-'], gen.stdout);
  assert.equal(r.status, 0, r.stderr);
  const ts = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { alert: string; labels: { region: string }; state: string; severity: string; at: string });
  const find = (alert: string, region: string, state: string) => ts.find((t) => t.alert === alert && t.labels.region === region && t.state === state);
  assert.ok(find('codesign_keychain_failures', 'HK', 'firing')?.severity === 'critical', 'the HK page (+1h)');
  assert.ok(find('codesign_keychain_failures', 'HK', 'resolved'), 'the HK page resolves');
  const sg = find('unlock_latency_p95', 'SG', 'firing');
  assert.ok(sg?.severity === 'warning' && Date.parse(sg.at) >= Date.parse('2026-11-20T02:00:00.000Z'), 'the SG warning at +2h');
  assert.ok(find('cert_expiry', 'US', 'firing'), 'the US certificate ticket');
  assert.ok(ts.some((t) => t.state === 'firing') && ts.some((t) => t.state === 'resolved'), 'both kinds of transition');
  assert.equal(sw(['simulate', '--scenario', 'none', '--events', '100', '--heartbeat', '0']).stdout.trim().split('\n').length, 100);
  assert.equal(sw(['simulate', '--heartbeat', 'often']).status, 2);
});
