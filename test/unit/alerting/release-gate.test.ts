import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ReleaseGate, GateError } from '../../../services/alerting/release-gate.js';
import { startGateServer } from '../../../services/alerting/gate-server.js';
import { defaultPolicy, parsePolicy } from '../../../services/engine/policy.js';
import { transition } from './transitions.js';
import type { Transition } from '../../../services/engine/types.js';

const policy = defaultPolicy();
const BIN = fileURLToPath(new URL('../../../../bin/signwatch', import.meta.url));
const kc = (region: string, state: 'firing' | 'resolved', at: string) => transition('codesign_keychain_failures', { region }, state, at);

void test('a keychain page freezes its region only, until it resolves; a warning never freezes', () => {
  const gate = new ReleaseGate(policy);
  gate.apply(transition('unlock_latency_p95', { region: 'HK' }, 'firing', '2026-11-26T00:30:00.000Z'));
  gate.apply(transition('clock_skew', { region: 'HK', host: 'c1' }, 'firing', '2026-11-26T00:30:00.000Z'));
  assert.equal(gate.state('HK').frozen, false);
  gate.apply(kc('HK', 'firing', '2026-11-26T01:00:00.000Z'));
  const s = gate.state('HK');
  assert.equal(s.frozen, true);
  assert.equal(s.since, '2026-11-26T01:00:00.000Z');
  assert.equal(s.reasons[0]!.dedupKey, 'signwatch/codesign_keychain_failures/region=HK');
  assert.equal(gate.state('JP').frozen, false);
  gate.apply(kc('HK', 'firing', '2026-11-26T01:00:00.000Z')); // re-read from the topic: idempotent
  assert.equal(gate.state('HK').reasons.length, 1);
  gate.apply(kc('HK', 'resolved', '2026-11-26T02:00:00.000Z'));
  assert.deepEqual(gate.state('HK'), { region: 'HK', frozen: false, reasons: [], since: null, override: null, parity: [] });
});

// regression (issue 15, 2): HK stayed open while a critical distribution_key_on_compile_host page fired
void test('every critical alert freezes its region by default; the policy decides per alert (freezes)', () => {
  const dk = (state: 'firing' | 'resolved') => transition('distribution_key_on_compile_host', { region: 'HK', host: 'build-hk-01' }, state, '2026-11-26T00:30:00.000Z');
  const gate = new ReleaseGate(policy);
  gate.apply(dk('firing'));
  assert.equal(gate.state('HK').frozen, true, 'a critical page freezes');
  assert.equal(gate.state('HK').reasons[0]!.alert, 'distribution_key_on_compile_host');
  gate.apply(dk('resolved'));
  assert.equal(gate.state('HK').frozen, false, 'and clears when it resolves');
  const off = new ReleaseGate(parsePolicy({ alerts: { distribution_key_on_compile_host: { freezes: false }, unlock_latency_p95: { freezes: true } } }));
  off.apply(dk('firing'));
  assert.equal(off.state('HK').frozen, false, 'freezes: false');
  off.apply(transition('unlock_latency_p95', { region: 'SG' }, 'firing', '2026-11-26T00:30:00.000Z'));
  assert.equal(off.state('SG').frozen, true, 'freezes: true on a warning');
});

void test('freezes: false (or the deprecated freezeReleases: false) on the keychain page disables its freeze', () => {
  for (const block of [{ freezes: false }, { freezeReleases: false }]) {
    const gate = new ReleaseGate(parsePolicy({ alerts: { codesign_keychain_failures: block } }));
    gate.apply(kc('HK', 'firing', '2026-11-26T01:00:00.000Z'));
    assert.equal(gate.state('HK').frozen, false, JSON.stringify(block));
  }
});

void test('state is rebuildable: replaying the same transitions gives the same state', () => {
  const ts = [kc('HK', 'firing', '2026-11-26T01:00:00.000Z'), kc('JP', 'firing', '2026-11-26T01:05:00.000Z'), kc('HK', 'resolved', '2026-11-26T02:00:00.000Z')];
  const a = new ReleaseGate(policy);
  ts.forEach((t) => a.apply(t));
  const b = new ReleaseGate(policy);
  [...ts, ...ts].forEach((t) => b.apply(t));
  assert.deepEqual(b.states(), a.states());
  assert.deepEqual(a.states().filter((s) => s.frozen).map((s) => s.region), ['JP']);
});

void test('override needs a token, expires, and is audited', () => {
  let now = Date.parse('2026-11-26T01:10:00.000Z');
  const dir = mkdtempSync(join(tmpdir(), 'sw-gate-'));
  const lines: string[] = [];
  try {
    const gate = new ReleaseGate(policy, { overrideToken: 's3cret', now: () => now, auditFile: join(dir, 'audit.ndjson'), logger: pino({}, { write: (s: string) => void lines.push(s) }) });
    gate.apply(kc('HK', 'firing', '2026-11-26T01:00:00.000Z'));
    assert.throws(() => gate.override('HK', 'wrong', { by: 'ann', reason: 'hotfix' }), (e: unknown) => e instanceof GateError && e.code === 'SW_GATE_UNAUTHORIZED');
    assert.throws(() => gate.override('HK', undefined, { by: 'ann', reason: 'hotfix' }), GateError);
    assert.equal(gate.state('HK').frozen, true);
    const s = gate.override('HK', 's3cret', { by: 'ann', reason: 'hotfix', ttlMs: 600_000 });
    assert.equal(s.frozen, false);
    assert.equal(s.override?.by, 'shared-token', 'the deprecated shared token does not say who (issue 16 item 2)');
    now += 600_001;
    assert.equal(gate.state('HK').frozen, true, 'override expired');
    const audit = readFileSync(join(dir, 'audit.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { action: string; by: string; region: string });
    assert.deepEqual(audit.map((a) => [a.action, a.by, a.region]), [['override', 'shared-token', 'HK']]);
    assert.ok(!lines.join('').includes('s3cret'), 'the token is never logged');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => new ReleaseGate(policy).override('HK', 'x', { by: 'a', reason: 'b' }), (e: unknown) => e instanceof GateError && e.code === 'SW_GATE_NO_TOKEN');
});

function runCli(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN.replace(/bin\/signwatch$/, 'dist/services/cli/main.js'), ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const t = setTimeout(() => p.kill(), 120_000); // a safety net only: a loaded machine starts node slowly
    p.on('close', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

void test('HTTP: GET /v1/release-gate and `signwatch gate check` exit non-zero while frozen; override over HTTP', async () => {
  const gate = new ReleaseGate(policy, { overrideToken: 'tok-123' });
  const server = await startGateServer(gate, { port: 0 });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    let r = await runCli(['gate', 'check', '--region', 'HK', '--url', server.url]);
    assert.equal(r.status, 0, r.stderr);
    gate.apply(kc('HK', 'firing', '2026-11-26T01:00:00.000Z'));
    const body = (await (await fetch(`${server.url}/v1/release-gate?region=HK`)).json()) as { frozen: boolean; reasons: unknown[]; since: string };
    assert.equal(body.frozen, true);
    assert.equal(body.since, '2026-11-26T01:00:00.000Z');
    assert.equal(body.reasons.length, 1);
    assert.equal((await fetch(`${server.url}/v1/release-gate?region=XX`)).status, 400);
    r = await runCli(['gate', 'check', '--region', 'HK', '--url', server.url]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /HK: FROZEN since 2026-11-26T01:00:00.000Z/);
    assert.equal((await runCli(['gate', 'check', '--region', 'JP', '--url', server.url])).status, 0);
    // override: wrong token refused, right token (from the environment, never argv) opens the region
    assert.equal((await runCli(['gate', 'override', '--region', 'HK', '--reason', 'hotfix', '--url', server.url], { SIGNWATCH_GATE_TOKEN: 'nope' })).status, 1);
    r = await runCli(['gate', 'override', '--region', 'HK', '--reason', 'hotfix', '--by', 'ann', '--url', server.url], { SIGNWATCH_GATE_TOKEN: 'tok-123' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await runCli(['gate', 'check', '--region', 'HK', '--url', server.url])).status, 0);
  } finally {
    await server.stop();
    await server.stop();
  }
});

void test('gate check --require-parity refuses while a host of the region differs from the fleet, and prints every reason', async () => {
  const gate = new ReleaseGate(policy);
  const server = await startGateServer(gate, { port: 0 });
  const drift = (state: 'firing' | 'resolved', at: string): Transition => ({
    kind: 'transition', alert: 'parity_drift', labels: { region: 'JP', host: 'mini-jp-02' }, state, at, value: 1, threshold: 0, severity: 'warning',
    dedupKey: 'signwatch/parity_drift/host=mini-jp-02,region=JP', summary: "JP/mini-jp-02: configuration differs from the fleet's majority in secretVersion",
  });
  try {
    gate.apply(drift('firing', '2026-11-26T01:00:00.000Z'));
    // parity does not freeze under the default policy: a plain check lets JP ship, and says why it might not
    let r = await runCli(['gate', 'check', '--region', 'JP', '--url', server.url]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /parity: 1 host\(s\) differ from the fleet/);
    r = await runCli(['gate', 'check', '--region', 'JP', '--require-parity', '--url', server.url]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /REFUSED: parity required/);
    assert.match(r.stdout, /mini-jp-02: configuration differs from the fleet's majority in secretVersion/);
    assert.equal((await runCli(['gate', 'check', '--region', 'HK', '--require-parity', '--url', server.url])).status, 0, 'other regions are in parity');
    // a frozen region lists every reason, the parity one included
    gate.apply(kc('JP', 'firing', '2026-11-26T02:00:00.000Z'));
    r = await runCli(['gate', 'check', '--region', 'JP', '--url', server.url]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /FROZEN since 2026-11-26T02:00:00.000Z\n {2}- signwatch\/codesign_keychain_failures\/region=JP: .*\nparity: 1 host/);
    gate.apply(kc('JP', 'resolved', '2026-11-26T03:00:00.000Z'));
    gate.apply(drift('resolved', '2026-11-26T03:00:00.000Z'));
    assert.equal((await runCli(['gate', 'check', '--region', 'JP', '--require-parity', '--url', server.url])).status, 0, 'clears when the host is back in parity');
  } finally {
    await server.stop();
  }
});

void test('gate CLI: bad usage exits 2 naming the flag; unreachable gate exits 3', async () => {
  const r = spawnSync(process.execPath, [BIN.replace(/bin\/signwatch$/, 'dist/services/cli/main.js'), 'gate', 'check', '--region', 'XX'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--region/);
  const u = await runCli(['gate', 'check', '--region', 'HK', '--url', 'http://127.0.0.1:1', '--timeout', '1s']);
  assert.equal(u.status, 3);
  const h = await runCli(['gate', '--help']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /signwatch gate check/);
});
