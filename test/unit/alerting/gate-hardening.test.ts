/**
 * Issue 16, items 1-3: the release gate under attack. An override is audited (fsync'd) before it takes effect or not
 * at all; the name in the audit comes from the token book, never from the request; the TTL is bounded by the policy;
 * what `gate check` prints from other people (reasons, names, summaries) has its control characters escaped; and a
 * client trickling its request is cut off by the server's request timeout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GateError, ReleaseGate, SHARED_TOKEN_BY } from '../../../services/alerting/release-gate.js';
import { startGateServer } from '../../../services/alerting/gate-server.js';
import { defaultPolicy, parsePolicy } from '../../../services/engine/policy.js';
import { hashToken, parseTokenBook } from '../../../services/platform/tokens.js';
import { transition } from './transitions.js';
import { trickle } from '../../harness/net.js';

const MAIN = fileURLToPath(new URL('../../../services/cli/main.js', import.meta.url));
const policy = defaultPolicy();
const book = parseTokenBook(`alice ${hashToken('tok-alice')}\nbob ${hashToken('tok-bob')}\n`, 'test-book');
const freezeHK = (gate: ReleaseGate) => gate.apply(transition('codesign_keychain_failures', { region: 'HK' }, 'firing', '2026-11-26T01:00:00.000Z'));

function runCli(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function post(url: string, token: string, body: Record<string, unknown>): Promise<{ status: number; body: { code?: string; message?: string; frozen?: boolean } }> {
  const res = await fetch(`${url}/v1/release-gate/override`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { code?: string; message?: string; frozen?: boolean } };
}

void test('issue 16 item 1: when the audit cannot be written (its path is a directory) there is no override: 500 SW_GATE_AUDIT, state unchanged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-gate-audit-'));
  const auditDir = join(dir, 'audit.ndjson');
  mkdirSync(auditDir);
  const gate = new ReleaseGate(policy, { tokenBook: book, auditFile: auditDir });
  freezeHK(gate);
  const server = await startGateServer(gate, { port: 0 });
  try {
    const r = await post(server.url, 'tok-alice', { region: 'HK', reason: 'hotfix', ttl: '1h' });
    assert.equal(r.status, 500);
    assert.equal(r.body.code, 'SW_GATE_AUDIT');
    assert.match(r.body.message ?? '', /audit log cannot be written \(EISDIR\), so the override was not made/);
    assert.equal(gate.state('HK').frozen, true, 'still frozen');
    assert.equal(gate.state('HK').override, null);
    const check = await runCli(['gate', 'check', '--region', 'HK', '--url', server.url]);
    assert.equal(check.status, 1, check.stdout);
    assert.match(check.stdout, /^HK: FROZEN since/);
    assert.doesNotMatch(check.stdout, /OPEN by override/);
    // clearing is audited first too
    assert.throws(() => gate.clearOverride('HK', 'tok-alice'), (e: unknown) => e instanceof GateError && e.code === 'SW_GATE_AUDIT');
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('issue 16 item 1: the audit line is on disk (0600) before the override is visible', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-gate-audit-'));
  const audit = join(dir, 'audit.ndjson');
  try {
    let seenAtChange = '';
    let armed = false;
    const gate = new ReleaseGate(policy, { tokenBook: book, auditFile: audit, onChange: (s) => void (armed && !s.frozen && (seenAtChange = readFileSync(audit, 'utf8'))) });
    freezeHK(gate);
    armed = true;
    gate.override('HK', 'tok-alice', { reason: 'hotfix', ttlMs: 600_000 });
    assert.match(seenAtChange, /"action":"override","region":"HK","by":"alice"/, 'written before onChange saw the region open');
    assert.equal(statSync(audit).mode & 0o777, 0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('issue 16 item 2: the override\'s by comes from the token book; a request by naming someone else is refused (403)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-gate-who-'));
  const audit = join(dir, 'audit.ndjson');
  const gate = new ReleaseGate(policy, { tokenBook: book, auditFile: audit });
  freezeHK(gate);
  const server = await startGateServer(gate, { port: 0 });
  try {
    const lie = await post(server.url, 'tok-bob', { region: 'HK', reason: 'hotfix', by: 'mallory' });
    assert.equal(lie.status, 403);
    assert.equal(lie.body.code, 'SW_GATE_FORBIDDEN');
    assert.equal(gate.state('HK').frozen, true);
    assert.equal((await post(server.url, 'tok-nobody', { region: 'HK', reason: 'hotfix' })).status, 401);
    const ok = await post(server.url, 'tok-bob', { region: 'HK', reason: 'hotfix' });
    assert.equal(ok.status, 200);
    assert.equal(gate.state('HK').override?.by, 'bob');
    assert.equal((await post(server.url, 'tok-alice', { region: 'HK', reason: 'again', by: 'alice' })).status, 200, 'a matching by is accepted');
    const lines = readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { by: string });
    assert.deepEqual(lines.map((l) => l.by), ['bob', 'alice']);
    // the CLI sends no --by of its own (not $USER): the book names the person
    const cli = await runCli(['gate', 'override', '--region', 'HK', '--reason', 'cli', '--url', server.url], { SIGNWATCH_GATE_TOKEN: 'tok-bob', USER: 'someone-else' });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /OPEN by override of bob/);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('issue 16 item 2: the deprecated shared token still works and is audited as by "shared-token"', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-gate-shared-'));
  const audit = join(dir, 'audit.ndjson');
  try {
    const gate = new ReleaseGate(policy, { overrideToken: 'shared-secret', auditFile: audit });
    freezeHK(gate);
    const s = gate.override('HK', 'shared-secret', { by: 'mallory', reason: 'hotfix' });
    assert.equal(s.override?.by, SHARED_TOKEN_BY);
    const [line] = readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { by: string; claimedBy: string });
    assert.equal(line?.by, 'shared-token');
    assert.equal(line?.claimedBy, 'mallory');
    assert.ok(!readFileSync(audit, 'utf8').includes('shared-secret'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('issue 16 item 2: the override TTL is bounded by the policy (default 24h); the error names the maximum', async () => {
  const gate = new ReleaseGate(policy, { tokenBook: book });
  freezeHK(gate);
  assert.throws(() => gate.override('HK', 'tok-alice', { reason: 'x', ttlMs: 10_000_000 * 3_600_000 }), (e: unknown) => e instanceof GateError && e.code === 'SW_GATE_BAD_INPUT' && /ttl: 10000000h is longer than the maximum 24h \(policy gate\.maxOverrideTtl\)/.test(e.message));
  assert.equal(gate.state('HK').frozen, true);
  assert.equal(gate.override('HK', 'tok-alice', { reason: 'x', ttlMs: 86_400_000 }).frozen, false, 'exactly 24h is allowed');
  const tight = new ReleaseGate(parsePolicy({ gate: { maxOverrideTtl: '2h' } }), { tokenBook: book });
  assert.throws(() => tight.override('HK', 'tok-alice', { reason: 'x', ttlMs: 3 * 3_600_000 }), /longer than the maximum 2h/);
  const server = await startGateServer(gate, { port: 0 });
  try {
    const r = await post(server.url, 'tok-alice', { region: 'HK', reason: 'x', ttl: '10000000h' });
    assert.equal(r.status, 400);
    assert.match(r.body.message ?? '', /maximum 24h/);
  } finally {
    await server.stop();
  }
});

void test('issue 16 item 2: control characters in reasons, names and summaries are escaped when gate check prints them', async () => {
  const gate = new ReleaseGate(policy, { overrideToken: 'tok' });
  gate.apply(transition('codesign_keychain_failures', { region: 'JP' }, 'firing', '2026-11-26T01:00:00.000Z', { summary: 'JP: 3 failures\u001b[2J\nJP: open' }));
  freezeHK(gate);
  gate.override('HK', 'tok', { reason: 'hotfix\n  - fake: all clear\u001b]0;owned\u0007\u009b31m', ttlMs: 600_000 });
  const server = await startGateServer(gate, { port: 0 });
  try {
    const hk = await runCli(['gate', 'check', '--region', 'HK', '--url', server.url]);
    assert.equal(hk.status, 0);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(hk.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, 'no control character but the line ends');
    assert.match(hk.stdout, /\(hotfix\\x0a {2}- fake: all clear\\x1b\]0;owned\\x07\\x9b31m\)/);
    assert.equal(hk.stdout.split('\n').filter(Boolean).length, 2, 'the reason did not add a line');
    const jp = await runCli(['gate', 'check', '--region', 'JP', '--url', server.url]);
    assert.equal(jp.status, 1);
    assert.match(jp.stdout, /JP: 3 failures\\x1b\[2J\\x0aJP: open/);
  } finally {
    await server.stop();
  }
});

void test('issue 16 item 3: a client trickling its request to gate serve is cut off by the request timeout', async () => {
  const gate = new ReleaseGate(policy, { tokenBook: book });
  const server = await startGateServer(gate, { port: 0, timeouts: { requestTimeoutMs: 300, checkIntervalMs: 50, connectionTimeoutMs: 60_000 } });
  const { port } = new URL(server.url);
  try {
    // the body one byte at a time: the socket is never idle long, only the request deadline can end it
    const closed = await trickle(Number(port), 'POST /v1/release-gate/override HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n', '{');
    assert.ok(closed.bytesSent < 1000, 'cut off before the body was complete');
    assert.match(closed.answer, /^HTTP\/1\.1 408 /, 'node answers 408 Request Timeout');
  } finally {
    await server.stop();
  }
});

void test('issue 16 item 2: gate serve --token-book FILE (or tokenBook in the config) is who may override', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-gate-book-'));
  try {
    const f = join(dir, 'book');
    writeFileSync(f, `alice ${hashToken('tok-alice')}\n`, { mode: 0o600 });
    const shown = await runCli(['gate', 'serve', '--token-book', f, '--check-config']);
    assert.equal(shown.status, 0, shown.stderr);
    assert.equal((JSON.parse(shown.stdout) as { tokenBook: string }).tokenBook, f);
    const help = await runCli(['gate', '--help']);
    assert.match(help.stdout, /--token-book FILE/);
    assert.match(help.stdout, /refused with 403 when it names someone else/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('issue 16 item 3: a body over the 64 KiB limit is refused before the gate sees it', async () => {
  const gate = new ReleaseGate(policy, { tokenBook: book });
  freezeHK(gate);
  const server = await startGateServer(gate, { port: 0 });
  try {
    const r = await post(server.url, 'tok-alice', { region: 'HK', reason: 'x'.repeat(70 * 1024) });
    assert.equal(r.status, 400);
    assert.match(r.body.message ?? '', /too large/);
    assert.equal(gate.state('HK').frozen, true);
  } finally {
    await server.stop();
  }
});
