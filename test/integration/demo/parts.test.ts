/**
 * The demo's parts without a broker: a simulated host through the real agent code (fake codesign → event →
 * spool → shipper, into an NDJSON sink), the lock schedule, KAFKA_BROKERS parsing, and the screen's states.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { validateEvent } from '../../../schemas/events.js';
import { NdjsonTarget } from '../../../services/agent/spool/ship-targets.js';
import { DEMO_KEYCHAIN, DemoAgentHost } from '../../../services/demo/agent-host.js';
import { brokersFromEnv, BrokerError } from '../../../services/demo/broker.js';
import { LOCK_FIXTURES, lockSchedule, type KeychainLock } from '../../../services/demo/fleet.js';
import { DemoView } from '../../../services/demo/view.js';
import type { Transition } from '../../../services/engine/types.js';

const FAKE_BIN = resolve('services/demo/fake-macos/bin');
const SHA1 = '3F1A9C2D4E5B6A7988123C4D5E6F708192A3B4C5';

void test('demo host: a locked keychain goes through the agent code (fake codesign → classified event → spool → shipper)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-demo-host-'));
  try {
    const out = join(dir, 'shipped.ndjson');
    const host = new DemoAgentHost({ host: 'mini-hk-01', region: 'HK', dataDir: join(dir, 'agent'), fakeBin: FAKE_BIN, sink: new NdjsonTarget(out), identity: SHA1, env: { ...process.env } });
    const at = Date.parse('2026-11-26T02:10:00.000Z');
    const fail = await host.codesign({ at, fixture: LOCK_FIXTURES[0], correlationId: 'ci-4100', app: 'App1' });
    const ok = await host.codesign({ at: at + 60_000, fixture: undefined, correlationId: 'ci-4101', app: 'App2' });
    assert.ok(fail && ok);
    assert.equal(fail.ts, '2026-11-26T02:10:00.000Z', 'the event carries the simulated time');
    assert.equal(fail.outcome, 'fail');
    assert.equal(fail.exitCode, 1);
    assert.deepEqual(fail.error, { code: 'errSecInternalComponent', osStatus: -2070, class: 'keychain', message: '.build/CmdKeyHappy.app: errSecInternalComponent' }); // the recorded capture's last line
    assert.equal(fail.keychain, DEMO_KEYCHAIN);
    assert.equal(fail.identity, SHA1);
    assert.deepEqual(fail.partitionIds, ['apple-tool:', 'apple:', 'codesign:']);
    assert.equal(fail.correlationId, 'ci-4100');
    assert.equal(ok.outcome, 'ok');
    assert.equal(ok.error, undefined);
    for (const e of [fail, ok]) assert.equal(validateEvent(e).ok, true, JSON.stringify(validateEvent(e)));
    // in the spool (fsync'd) until shipped; then in the sink, in order, and gone from the spool
    assert.equal(readdirSync(join(dir, 'agent', 'spool', 'q')).length, 2);
    assert.equal(existsSync(out), false);
    assert.equal(await host.ship(Date.now() + 60_000), true);
    const shipped = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string });
    assert.deepEqual(shipped.map((e) => e.id), [fail.id, ok.id]);
    assert.equal(readdirSync(join(dir, 'agent', 'spool', 'q')).length, 0);
    assert.deepEqual(host.stats, { calls: 2, failures: 1, shipped: 2 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('lock schedule: seeded, inside the lock window, only the affected hosts, about the failure rate', () => {
  const lock: KeychainLock = { kind: 'keychain-lock', region: 'HK', at: 3_600_000, duration: 20 * 60_000, hosts: 2, failureRate: 0.7 };
  const hosts = ['mini-hk-01', 'mini-hk-02', 'mini-hk-03'].map((h) => ({ host: h }) as DemoAgentHost);
  const a = lockSchedule(lock, hosts, 40_000, 1);
  const b = lockSchedule(lock, hosts, 40_000, 1);
  assert.deepEqual(a.map((x) => [x.host.host, x.call]), b.map((x) => [x.host.host, x.call]));
  assert.ok(a.length >= 40 && a.length <= 80, `calls: ${a.length}`);
  assert.deepEqual([...new Set(a.map((x) => x.host.host))].sort(), ['mini-hk-01', 'mini-hk-02']);
  assert.ok(a.every((x, i) => x.call.at >= lock.at && x.call.at < lock.at + lock.duration && (i === 0 || a[i - 1]!.call.at <= x.call.at)));
  const failed = a.filter((x) => x.call.fixture !== undefined).length / a.length;
  assert.ok(failed > 0.5 && failed < 0.9, `failure fraction ${failed}`);
  assert.notDeepEqual(lockSchedule(lock, hosts, 40_000, 2).map((x) => x.call.at), a.map((x) => x.call.at));
});

void test('KAFKA_BROKERS: unset or empty → local broker; a list is parsed; a bad entry is a coded error naming the variable', () => {
  assert.equal(brokersFromEnv({}), undefined);
  assert.equal(brokersFromEnv({ KAFKA_BROKERS: ' ' }), undefined);
  assert.deepEqual(brokersFromEnv({ KAFKA_BROKERS: 'k1:9092, k2:9093' }), ['k1:9092', 'k2:9093']);
  assert.throws(() => brokersFromEnv({ KAFKA_BROKERS: 'k1:9092,nope' }), (e: unknown) => e instanceof BrokerError && e.code === 'SW_DEMO_BROKERS' && !e.retryable && /KAFKA_BROKERS: 'nope'/.test(e.message));
});

void test('screen: trailing-hour numbers per region and the states from transitions and the gate', () => {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  }) as unknown as NodeJS.WriteStream;
  const start = Date.parse('2026-11-26T00:00:00.000Z');
  const v = new DemoView(sink, false, ['header'], start);
  const base = { v: 1 as const, host: 'mini-hk-01', region: 'HK' as const, pool: 'signing' as const, agent: '0.1.0' };
  const fail = (i: number, min: number) =>
    v.onEvent({ ...base, id: `01M8AD249QM8XSN0V13DM6P8${String(i).padStart(2, '0')}`, ts: new Date(start + min * 60_000).toISOString(), type: 'codesign', tool: 'codesign', outcome: 'fail', durationMs: 300, exitCode: 1, keychain: DEMO_KEYCHAIN, partitionIds: [], invocationId: 'x', error: { code: 'errSecInternalComponent', osStatus: -2070, class: 'keychain', message: 'errSecInternalComponent' } } as never);
  fail(1, 60);
  fail(2, 61);
  fail(3, 62);
  const page: Transition = { kind: 'transition', alert: 'codesign_keychain_failures', labels: { region: 'HK' }, state: 'firing', at: new Date(start + 62 * 60_000).toISOString(), value: 3, threshold: 2, severity: 'critical', dedupKey: 'signwatch/codesign_keychain_failures/region=HK', summary: 'HK: 3' };
  v.onTransition(page);
  v.setFrozen('HK', true);
  let screen = v.render();
  assert.match(screen, /HK\s+3\s+3 > 2\s+—\s+PAGED · releases FROZEN/);
  assert.match(screen, /JP\s+0\s+0\s+—\s+ok/);
  fail(4, 125); // the trailing hour now holds this one only
  v.onTransition({ ...page, state: 'resolved' });
  v.setFrozen('HK', false);
  screen = v.render();
  assert.match(screen, /HK\s+4\s+1\s+—\s+ok/);
  v.progress({ simNow: start + 90 * 60_000 });
  assert.match(text, /sim \+1h30m {2}HK:ok {2}JP:ok/, 'non-live mode prints a summary per simulated half hour');
});
