import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ConfigError, loadProcessorConfig, parseProcessorConfig, resolveSaslPassword } from '../../../services/processor/config.js';
import { saslOptions, tlsOptions } from '../../../services/platform/kafka.js';
import { createLogger } from '../../../services/platform/logger.js';
import { stateHorizon } from '../../../services/engine/engine.js';
import { defaultPolicy } from '../../../services/engine/policy.js';

void test('defaults: local broker, the four v1 topics, wall clock, metrics on 127.0.0.1:9464; frozen', () => {
  const c = parseProcessorConfig({});
  assert.deepEqual(c.kafka.brokers, ['127.0.0.1:9092']);
  assert.deepEqual([c.topics.events.name, c.topics.dlq.name, c.topics.alerts.name, c.topics.hourly.name], ['events.v1', 'dlq.v1', 'alerts.v1', 'hourly.v1']);
  assert.equal(c.clock, 'wall');
  assert.equal(c.metrics.host, '127.0.0.1');
  assert.equal(c.metrics.port, 9464);
  assert.equal(c.consumer.sessionTimeout, 10_000);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.topics.events));
  assert.throws(() => {
    c.kafka.brokers.push('x:1');
  }, TypeError);
});

void test('durations accept "5m"-style strings; errors name the bad key', () => {
  assert.equal(parseProcessorConfig({ tickInterval: '500ms', consumer: { sessionTimeout: '6s' } }).consumer.sessionTimeout, 6000);
  const cases: [unknown, RegExp][] = [
    [{ kafka: { brokers: ['nohost'] } }, /kafka\.brokers\.0: must be host:port/],
    [{ clock: 'sundial' }, /clock:/],
    [{ topics: { events: { partitions: 0 } } }, /topics\.events\.partitions/],
    [{ kafka: { sasl: { mechanism: 'gssapi', username: 'u' } } }, /kafka\.sasl\.mechanism/],
    [{ metrics: { port: 70000 } }, /metrics\.port/],
    [{ tickInterval: 'soon' }, /tickInterval/],
    [{ unknownKey: 1 }, /unknownKey|Unrecognized key/],
    [{ topics: { alerts: { name: 'events.v1' } } }, /must be distinct/],
  ];
  for (const [input, re] of cases) {
    assert.throws(() => parseProcessorConfig(input), (e: unknown) => e instanceof ConfigError && e.code === 'SW_CONFIG_INVALID' && e.retryable === false && re.test(e.message), JSON.stringify(input));
  }
});

void test('config file + overrides: flags win over the file; a bad file names itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-proc-cfg-'));
  try {
    const f = join(dir, 'p.yaml');
    writeFileSync(f, 'kafka:\n  brokers: ["10.0.0.1:9092"]\ngroupId: g1\nclock: event\n');
    const c = loadProcessorConfig(f, { groupId: 'g2', 'metrics.port': 0, clock: undefined });
    assert.deepEqual(c.kafka.brokers, ['10.0.0.1:9092']);
    assert.equal(c.groupId, 'g2');
    assert.equal(c.clock, 'event');
    assert.equal(c.metrics.port, 0);
    writeFileSync(f, 'groupId: [unclosed\n');
    const esc = f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    assert.throws(() => loadProcessorConfig(f), new RegExp(`${esc}:\\d+: invalid YAML`));
    writeFileSync(f, 'groupId: g\nmetrics: { port: -1 }\n');
    assert.throws(() => loadProcessorConfig(f), new RegExp(`${esc}:2: metrics\\.port`), 'file:line: key');
    assert.throws(() => loadProcessorConfig(join(dir, 'missing.yaml')), /missing\.yaml: cannot read processor config: no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('SASL password from a file or a named environment variable, never from the config itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-proc-cfg-'));
  try {
    const pw = join(dir, 'pw');
    writeFileSync(pw, 's3cret\n');
    const fromFile = parseProcessorConfig({ kafka: { sasl: { mechanism: 'scram-sha-512', username: 'proc', passwordFile: pw } } });
    assert.equal(resolveSaslPassword(fromFile.kafka.sasl!), 's3cret');
    assert.deepEqual(saslOptions(fromFile.kafka.sasl), { mechanism: 'scram-sha-512', username: 'proc', password: 's3cret' });
    const fromEnv = parseProcessorConfig({ kafka: { sasl: { mechanism: 'plain', username: 'proc', passwordEnv: 'MY_KAFKA_PW' } } });
    assert.equal(resolveSaslPassword(fromEnv.kafka.sasl!, { MY_KAFKA_PW: 'envpw' }), 'envpw');
    assert.throws(() => resolveSaslPassword(fromEnv.kafka.sasl!, {}), /MY_KAFKA_PW/);
    assert.throws(() => parseProcessorConfig({ kafka: { sasl: { mechanism: 'plain', username: 'u', password: 'inline' } } }), /password/);
    // TLS: PEM paths are read; a missing file names its key
    assert.equal(tlsOptions(true), true);
    assert.throws(() => tlsOptions({ caFile: join(dir, 'nope.pem'), rejectUnauthorized: true }), /kafka\.tls\.caFile/);
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\n');
    const t = tlsOptions({ caFile: join(dir, 'ca.pem'), rejectUnauthorized: false }) as { ca: string[]; rejectUnauthorized: boolean };
    assert.equal(t.rejectUnauthorized, false);
    assert.equal(t.ca.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('logger redacts secrets wherever they sit', () => {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  const log = createLogger({ name: 't', level: 'info', destination: sink });
  log.info({ kafka: { sasl: { username: 'u', password: 'hunter2' } }, token: 'abc', routingKey: 'R0UT' }, 'connect');
  assert.ok(!out.includes('hunter2') && !out.includes('"abc"') && !out.includes('R0UT'), out);
  assert.match(out, /\[redacted\]/);
  assert.match(out, /"username":"u"/);
});

void test('state horizon covers hourly retention, lateness and the longest window', () => {
  const p = defaultPolicy();
  // the longest: certificates are forgotten 30 days after the last evidence of them
  assert.equal(stateHorizon(p), p.hourlyRetention + p.allowedLateness + p.alerts.cert_expiry.forgetAfter);
  assert.equal(p.alerts.cert_expiry.forgetAfter, 30 * 86_400_000);
});
