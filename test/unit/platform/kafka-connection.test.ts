// The one `kafka:` block: the agent's hand-written check and the zod schema of every other component give the same
// answers; --check-config redacts; failures are explained without the password.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KafkaConnection } from '../../../services/platform/kafka-config.js';
import { describeConnection, parseKafkaConnection } from '../../../services/platform/kafka-connection.js';
import { effectiveConfigText, redactConfig } from '../../../services/platform/check-config.js';
import { explainKafkaError } from '../../../services/platform/kafka.js';
import { parseConfig as parseAgentConfig } from '../../../services/agent/config.js';

const zod = KafkaConnection('signwatch-x');
const hand = (v: unknown) => parseKafkaConnection(v, 'signwatch-x');

const ACCEPTED: unknown[] = [
  undefined,
  {},
  { brokers: ['a.example:9093', 'b:9094'] },
  { clientId: 'c1', tls: true },
  { tls: false, connectionTimeout: '5s', requestTimeout: 1500 },
  { tls: { caFile: '/etc/ca.pem' } },
  { tls: { caFile: '/ca', certFile: '/c', keyFile: '/k', servername: 'kafka.internal', rejectUnauthorized: false } },
  { sasl: { mechanism: 'plain', username: 'u' } },
  { sasl: { mechanism: 'scram-sha-256', username: 'u', passwordFile: '/run/secrets/kafka' } },
  { brokers: ['k:9096'], tls: { caFile: '/ca' }, sasl: { mechanism: 'scram-sha-512', username: 'agent', passwordEnv: 'MY_KAFKA_PW' }, connectionTimeout: '10s' },
];

const REJECTED: unknown[] = [
  [],
  { brokers: [] },
  { brokers: ['no-port'] },
  { brokers: 'a:1' },
  { bogus: 1 },
  { clientId: '' },
  { clientId: 'x'.repeat(129) },
  { tls: 'yes' },
  { tls: { caFile: '' } },
  { tls: { ca: '/x' } },
  { tls: { rejectUnauthorized: 'no' } },
  { sasl: { mechanism: 'gssapi', username: 'u' } },
  { sasl: { mechanism: 'plain' } },
  { sasl: { mechanism: 'plain', username: 'u', password: 'inline' } },
  { sasl: { mechanism: 'plain', username: 'u', passwordEnv: 'lower-case' } },
  { connectionTimeout: '5 parsecs' },
  { connectionTimeout: -1 },
  { requestTimeout: 1.5 },
];

void test('the agent check and the zod schema accept the same blocks with the same result', () => {
  for (const v of ACCEPTED) {
    const z = zod.safeParse(v);
    assert.ok(z.success, `zod accepts ${JSON.stringify(v)}`);
    assert.deepEqual(hand(v), z.data, `same result for ${JSON.stringify(v)}`);
  }
});

void test('the agent check and the zod schema reject the same blocks', () => {
  for (const v of REJECTED) {
    assert.equal(zod.safeParse(v).success, false, `zod rejects ${JSON.stringify(v)}`);
    assert.throws(() => hand(v), /kafka/, `hand check rejects ${JSON.stringify(v)}`);
  }
});

void test('the agent config takes the block plus its topic; errors name the key', () => {
  const cfg = parseAgentConfig({ region: 'HK', kafka: { brokers: ['k:9096'], topic: 'events.v1', tls: { caFile: '/ca' }, sasl: { mechanism: 'scram-sha-512', username: 'agent', passwordFile: '/pw' } } });
  assert.equal(cfg.kafka.topic, 'events.v1');
  assert.deepEqual(cfg.kafka.sasl, { mechanism: 'scram-sha-512', username: 'agent', passwordFile: '/pw', passwordEnv: 'SIGNWATCH_KAFKA_PASSWORD' });
  assert.equal(cfg.kafka.connectionTimeout, 3000);
  assert.throws(() => parseAgentConfig({ region: 'HK', kafka: { brokers: ['a:1', 'b'] } }), /kafka\.brokers\[1\]: must be host:port/);
  assert.throws(() => parseAgentConfig({ region: 'HK', kafka: { sasl: { mechanism: 'plain', username: 'u', password: 'x' } } }), /kafka\.sasl\.password: unknown key/);
  assert.throws(() => parseAgentConfig({ region: 'HK', kafka: { topic: 'bad topic' } }), /kafka\.topic/);
});

void test('--check-config: secrets redacted, the password source named, never the password', () => {
  const text = effectiveConfigText(
    { kafka: { brokers: ['k:1'], sasl: { mechanism: 'plain', username: 'u', passwordEnv: 'PW_VAR' } }, store: { spec: 'postgres://app:hunter2@db:5432/sw' }, token: 't0k3n' },
    { PW_VAR: 's3cr3t' },
  );
  assert.ok(!text.includes('s3cr3t') && !text.includes('hunter2') && !text.includes('t0k3n'));
  const o = JSON.parse(text) as { kafka: { sasl: { password: string } }; store: { spec: string }; token: string };
  assert.equal(o.kafka.sasl.password, '[redacted]: from environment variable PW_VAR (set)');
  assert.equal(o.store.spec, 'postgres://app:[redacted]@db:5432/sw');
  assert.equal(o.token, '[redacted]');
  const missing = redactConfig({ sasl: { passwordFile: '/nonexistent/pw' } }, {}) as { sasl: { password: string } };
  assert.equal(missing.sasl.password, '[redacted]: from file /nonexistent/pw (NOT READABLE)');
});

void test('failures explained in one line, by kind, without the password', () => {
  const sasl = { mechanism: 'scram-sha-256' as const, username: 'agent', passwordEnv: 'X' };
  const auth = explainKafkaError(Object.assign(new Error('SASL SCRAM SHA256 authentication failed: invalid credentials'), { name: 'KafkaJSSASLAuthenticationError' }), { tls: true, sasl });
  assert.equal(auth.code, 'SW_KAFKA_AUTH');
  assert.equal(auth.retryable, false);
  assert.match(auth.reason, /SASL scram-sha-256 authentication of user agent was refused/);
  const tls = explainKafkaError(Object.assign(new Error('Connection error: self-signed certificate in certificate chain'), { cause: new Error('Connection error: self-signed certificate in certificate chain') }), { tls: true });
  assert.equal(tls.code, 'SW_KAFKA_TLS');
  assert.match(tls.reason, /^TLS: the broker's certificate is not trusted \(self-signed certificate in certificate chain\); set kafka\.tls\.caFile/);
  const down = explainKafkaError(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1'), { tls: false });
  assert.deepEqual(down, { code: 'SW_KAFKA_CONNECT', retryable: true, reason: 'connect ECONNREFUSED 127.0.0.1:1' });
  const plainToTls = explainKafkaError(new Error('Closed connection'), { tls: false });
  assert.match(plainToTls.reason, /is this a TLS listener\? then set kafka\.tls/);
  assert.equal(describeConnection({ brokers: ['a:1', 'b:2'], tls: { caFile: '/ca', rejectUnauthorized: true }, sasl }), 'a:1,b:2 (TLS, CA /ca, SASL scram-sha-256 as agent)');
});
