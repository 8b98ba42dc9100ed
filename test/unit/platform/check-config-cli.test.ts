// `--check-config` on every component that talks to Kafka: the same kafka block from its config file (and --brokers
// over it), printed with the password's source but never the password; no broker needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../../services/cli/main.js', import.meta.url));
const SECRET = 'pa55-w0rd-that-must-not-show';

interface Shown {
  kafka: { brokers: string[]; clientId: string; tls: { caFile: string; rejectUnauthorized: boolean }; sasl: { mechanism: string; username: string; passwordEnv: string; password: string }; connectionTimeout: number };
}

void test('--check-config: agent run, processor, dlq, alerts notify, gate serve and demo print the one kafka block, redacted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-check-config-'));
  try {
    const block = { brokers: ['kafka-1.example.net:9096'], tls: { caFile: '/etc/signwatch/ca.pem' }, sasl: { mechanism: 'scram-sha-512', username: 'signwatch', passwordEnv: 'KAFKA_PW' }, connectionTimeout: '5s' };
    const yaml = join(dir, 'component.json');
    writeFileSync(yaml, JSON.stringify({ kafka: block }));
    const agent = join(dir, 'agent.json');
    writeFileSync(agent, JSON.stringify({ region: 'HK', dataDir: join(dir, 'data'), kafka: { ...block, topic: 'events.v1' } }));
    const env = { ...process.env, KAFKA_PW: SECRET };
    const cases: [string, string[], string][] = [
      ['agent run', ['agent', 'run', '--config', agent, '--check-config'], 'signwatch-agent'],
      ['processor', ['processor', '--config', yaml, '--check-config'], 'signwatch-processor'],
      ['dlq export', ['dlq', 'export', '--config', yaml, '--check-config'], 'signwatch-dlq'],
      ['alerts notify', ['alerts', 'notify', '--config', yaml, '--check-config'], 'signwatch-notifier'],
      ['gate serve', ['gate', 'serve', '--config', yaml, '--check-config'], 'signwatch-gate'],
      ['demo', ['demo', '--config', yaml, '--check-config'], 'signwatch-demo'],
    ];
    for (const [what, args, clientId] of cases) {
      const r = spawnSync(process.execPath, [MAIN, ...args], { env, encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 0, `${what}: ${r.stderr}`);
      assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET), `${what}: the password is not printed`);
      const k = (JSON.parse(r.stdout) as Shown).kafka;
      assert.deepEqual(k.brokers, block.brokers, what);
      assert.equal(k.clientId, clientId, what);
      assert.deepEqual(k.tls, { caFile: '/etc/signwatch/ca.pem', rejectUnauthorized: true }, what);
      assert.equal(k.sasl.mechanism, 'scram-sha-512', what);
      assert.equal(k.sasl.password, '[redacted]: from environment variable KAFKA_PW (set)', what);
      assert.equal(k.connectionTimeout, 5000, what);
    }
    // --brokers overrides the file's list, the same way everywhere
    for (const args of [
      ['agent', 'run', '--config', agent],
      ['processor', '--config', yaml],
      ['alerts', 'notify', '--config', yaml],
      ['gate', 'serve', '--config', yaml],
      ['demo', '--config', yaml],
    ]) {
      const r = spawnSync(process.execPath, [MAIN, ...args, '--brokers', 'k2:9096,k3:9096', '--check-config'], { env, encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual((JSON.parse(r.stdout) as Shown).kafka.brokers, ['k2:9096', 'k3:9096'], args[0]);
    }
    // a bad block is a usage error (exit 2) naming the key
    writeFileSync(yaml, JSON.stringify({ kafka: { ...block, sasl: { ...block.sasl, password: SECRET } } }));
    const bad = spawnSync(process.execPath, [MAIN, 'gate', 'serve', '--config', yaml, '--check-config'], { env, encoding: 'utf8', timeout: 20_000 });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /kafka\.sasl\.password: unknown key/);
    assert.ok(!bad.stderr.includes(SECRET));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
