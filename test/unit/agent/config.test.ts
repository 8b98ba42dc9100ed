import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, inMaintenanceWindow, parseConfig } from '../../../services/agent/config.js';

void test('defaults applied, result frozen', () => {
  const c = parseConfig({ region: 'JP', dataDir: '/var/sw' });
  assert.equal(c.pool, 'signing');
  assert.deepEqual(c.kafka.brokers, ['127.0.0.1:9092']);
  assert.equal(c.kafka.topic, 'events.v1');
  assert.equal(c.spoolMaxEvents, 100_000);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.kafka) && Object.isFrozen(c.intervals));
});

void test('errors name the bad key', () => {
  const bad: [unknown, RegExp][] = [
    [{}, /^region: required/],
    [{ region: 'EU' }, /^region: must be one of HK, JP, KR, SG, US/],
    [{ region: 'HK', spoolMaxEvents: 1 }, /^spoolMaxEvents: must be an integer/],
    [{ region: 'HK', kafka: { brokers: ['127.0.0.1:9092', 'nope'] } }, /^kafka\.brokers\[1\]: must be host:port/],
    [{ region: 'HK', kafka: { broker: 'x' } }, /^kafka\.broker: unknown key/],
    [{ region: 'HK', passwrd: 'x' }, /^passwrd: unknown key/],
    [{ region: 'HK', dataDir: 'relative' }, /^dataDir: must be an absolute path/],
    [{ region: 'HK', maintenanceWindows: [{ start: '2026-11-26T02:00:00Z', end: '2026-11-26T01:00:00Z' }] }, /^maintenanceWindows\[0\]\.end: must be after start/],
    [{ region: 'HK', maintenanceWindows: [{ start: 'tomorrow', end: '2026-11-26T01:00:00Z' }] }, /^maintenanceWindows\[0\]\.start: must be an RFC 3339 time/],
  ];
  for (const [raw, re] of bad) {
    assert.throws(() => parseConfig(raw), (e: unknown) => e instanceof ConfigError && re.test(e.message) && e.code === 'SW_AGENT_CONFIG');
  }
});

void test('maintenance windows are half-open [start, end)', () => {
  const c = parseConfig({ region: 'KR', dataDir: '/x', maintenanceWindows: [{ start: '2026-11-28T01:00:00Z', end: '2026-11-28T03:00:00Z' }] });
  assert.equal(inMaintenanceWindow(c, Date.parse('2026-11-28T00:59:59.999Z')), false);
  assert.equal(inMaintenanceWindow(c, Date.parse('2026-11-28T01:00:00Z')), true);
  assert.equal(inMaintenanceWindow(c, Date.parse('2026-11-28T03:00:00Z')), false);
});
