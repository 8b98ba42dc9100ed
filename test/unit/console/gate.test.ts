// The Gate page's routes (services/console/routes/gate.ts) against a real `gate serve` (ReleaseGate + its HTTP
// server on a free port, with a token book and an audit file): an override made from the console is made by the
// gate, named from the gate's book, audited (0600) before it shows; a wrong token, a token the gate does not know,
// a TTL over the policy maximum and a cross-origin POST change nothing; the audit trail comes back newest first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTokenBook, hashToken } from '../../../services/platform/tokens.js';
import { createTelemetry } from '../../../services/platform/telemetry.js';
import { defaultPolicy } from '../../../services/engine/policy.js';
import { ReleaseGate } from '../../../services/alerting/release-gate.js';
import { startGateServer } from '../../../services/alerting/gate-server.js';
import { readAuditTail } from '../../../services/alerting/gate-audit.js';
import { ConsoleState } from '../../../services/console/state.js';
import { consoleApp } from '../../../services/console/server.js';
import { transition } from '../alerting/transitions.js';

const ALICE = 'swt_alice-token-for-gate-tests-000000000000';
const MALLORY = 'swt_mallory-token-console-only-00000000000';

async function setup(gateRunning = true) {
  const policy = defaultPolicy();
  const dir = mkdtempSync(join(tmpdir(), 'sw-console-gate-'));
  const auditFile = join(dir, 'audit.log');
  const gate = new ReleaseGate(policy, { tokenBook: parseTokenBook(`alice ${hashToken(ALICE)}\n`, 'gate-book'), auditFile });
  const hk = transition('codesign_keychain_failures', { region: 'HK' }, 'firing', '2026-12-01T20:00:00.000Z');
  gate.apply(hk);
  const server = await startGateServer(gate, { port: 0 });
  if (!gateRunning) await server.stop();
  const state = new ConsoleState(policy);
  state.apply(hk);
  const telemetry = createTelemetry({ serviceName: 'console-gate-test', host: '127.0.0.1', port: 0, serve: false });
  // the console's book knows mallory too; the gate's does not
  const app = consoleApp({ state, telemetry, gateUrl: server.url, tokenBook: parseTokenBook(`alice ${hashToken(ALICE)}\nmallory ${hashToken(MALLORY)}\n`, 'console-book') });
  return { gate, server, state, app, auditFile };
}

const post = (app: Awaited<ReturnType<typeof setup>>['app'], url: string, token: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', host: 'console.test', ...headers }, payload: JSON.stringify(payload) });

void test('console override: made by gate serve with the person’s token, named from its book, audited 0600 before it shows', async () => {
  const { server, app, auditFile, state } = await setup();
  try {
    const before = await app.inject({ url: '/api/gate', headers: { authorization: `Bearer ${ALICE}` } });
    assert.equal(before.statusCode, 200);
    const b = before.json<{ source: string; canOverride: boolean; maxOverrideTtl: string; regions: { region: string; frozen: boolean; check: string }[] }>();
    assert.equal(b.source, 'gate');
    assert.equal(b.canOverride, true);
    assert.equal(b.maxOverrideTtl, '24h');
    const hk = b.regions.find((r) => r.region === 'HK')!;
    assert.equal(hk.frozen, true);
    assert.match(hk.check, /^HK: FROZEN since 2026-12-01T20:00:00.000Z\n {2}- signwatch\/codesign_keychain_failures\/region=HK: /);

    const res = await post(app, '/api/gate/override', ALICE, { region: 'HK', reason: 'hotfix 4.2.1, keychain re-created', ttl: '2h' });
    assert.equal(res.statusCode, 200, res.body);
    const st = res.json<{ frozen: boolean; override: { by: string; at: string; until: string } }>();
    assert.equal(st.frozen, false);
    assert.equal(st.override.by, 'alice');
    assert.equal(Date.parse(st.override.until) - Date.parse(st.override.at), 7_200_000);
    assert.equal(statSync(auditFile).mode & 0o777, 0o600);
    const [line] = readAuditTail(auditFile, 10);
    assert.equal(line!.by, 'alice');
    assert.equal(line!.reason, 'hotfix 4.2.1, keychain re-created');
    assert.deepEqual(line!.reasons, ['signwatch/codesign_keychain_failures/region=HK']);
    // the Fleet tile follows the gate's override
    const tile = state.snapshot('alice').regions.find((r) => r.region === 'HK')!;
    assert.equal(tile.frozen, false);
    assert.equal(tile.override?.by, 'alice');

    const audit = await app.inject({ url: '/api/gate/audit', headers: { authorization: `Bearer ${ALICE}` } });
    const a = audit.json<{ enabled: boolean; entries: { by: string; action: string }[] }>();
    assert.equal(a.enabled, true);
    assert.deepEqual(a.entries.map((e) => [e.action, e.by]), [['override', 'alice']]);

    const cleared = await post(app, '/api/gate/clear', ALICE, { region: 'HK' });
    assert.equal(cleared.statusCode, 200, cleared.body);
    assert.equal(cleared.json<{ frozen: boolean }>().frozen, true);
    assert.deepEqual(readAuditTail(auditFile, 10).map((e) => e.action), ['override-cleared', 'override'], 'newest first');
  } finally {
    await app.close();
    await server.stop();
  }
});

void test('console override refused: bad token, a token only the console knows, TTL over the maximum, cross-origin, no reason', async () => {
  const { server, app, auditFile, gate } = await setup();
  try {
    const bad = await post(app, '/api/gate/override', 'swt_nobody', { region: 'HK', reason: 'x', ttl: '1h' });
    assert.equal(bad.statusCode, 401);
    // the console let mallory in, the gate's own book does not know her: the gate refuses, nothing audited
    const foreign = await post(app, '/api/gate/override', MALLORY, { region: 'HK', reason: 'x', ttl: '1h' });
    assert.equal(foreign.statusCode, 401, foreign.body);
    assert.equal(foreign.json<{ code: string }>().code, 'SW_GATE_UNAUTHORIZED');
    const long = await post(app, '/api/gate/override', ALICE, { region: 'HK', reason: 'x', ttl: '48h' });
    assert.equal(long.statusCode, 400);
    assert.match(long.json<{ message: string }>().message, /longer than the maximum 24h/);
    const cross = await post(app, '/api/gate/override', ALICE, { region: 'HK', reason: 'x', ttl: '1h' }, { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' });
    assert.equal(cross.statusCode, 403);
    const empty = await post(app, '/api/gate/override', ALICE, { region: 'HK', reason: '   ', ttl: '1h' });
    assert.equal(empty.statusCode, 400);
    const by = await post(app, '/api/gate/override', ALICE, { region: 'HK', reason: 'x', ttl: '1h', by: 'bob' });
    assert.equal(by.statusCode, 400, 'the form has no by: the name comes from the book');
    assert.equal(existsSync(auditFile), false, 'nothing audited');
    assert.equal(gate.state('HK').frozen, true);
    const audit = await app.inject({ url: '/api/gate/audit', headers: { authorization: `Bearer ${MALLORY}` } });
    assert.equal(audit.statusCode, 401, 'the audit trail needs a token the gate knows');
  } finally {
    await app.close();
    await server.stop();
  }
});

void test('console gate routes: gate serve down is a 502 SW_CONSOLE_GATE; without a token book nobody overrides from the page', async () => {
  const { app } = await setup(false);
  try {
    const res = await app.inject({ url: '/api/gate', headers: { authorization: `Bearer ${ALICE}` } });
    assert.equal(res.statusCode, 502);
    assert.equal(res.json<{ code: string }>().code, 'SW_CONSOLE_GATE');
  } finally {
    await app.close();
  }
  const state = new ConsoleState(defaultPolicy());
  const local = consoleApp({ state, telemetry: createTelemetry({ serviceName: 'x', host: '127.0.0.1', port: 0, serve: false }) });
  try {
    const g = (await local.inject({ url: '/api/gate' })).json<{ source: string; canOverride: boolean; cannotOverride: string; regions: unknown[] }>();
    assert.equal(g.source, 'console');
    assert.equal(g.canOverride, false);
    assert.match(g.cannotOverride, /--gate-url/);
    assert.equal(g.regions.length, 5);
    const o = await local.inject({ method: 'POST', url: '/api/gate/override', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ region: 'HK', reason: 'x', ttl: '1h' }) });
    assert.equal(o.statusCode, 403);
  } finally {
    await local.close();
  }
});
