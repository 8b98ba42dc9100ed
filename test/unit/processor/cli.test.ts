import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../../services/cli/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [MAIN, 'processor', ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, SIGNWATCH_KAFKA_PASSWORD: 'from-env-secret' } });

void test('signwatch processor --help, bad flags exit 2 naming the flag, --check-config validates and redacts nothing secret', () => {
  const h = run('--help');
  assert.equal(h.status, 0);
  assert.match(h.stdout, /Usage: signwatch processor/);
  const bad = run('--bogus');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /bogus/);
  const clock = run('--clock', 'sundial');
  assert.equal(clock.status, 2);
  assert.match(clock.stderr, /--clock/);
  const port = run('--metrics-port', 'x');
  assert.equal(port.status, 2);
  assert.match(port.stderr, /--metrics-port/);
  const dir = mkdtempSync(join(tmpdir(), 'sw-proc-cli-'));
  try {
    const f = join(dir, 'p.yaml');
    writeFileSync(f, 'kafka:\n  sasl: { mechanism: scram-sha-256, username: proc }\ntopics:\n  events: { partitions: 0 }\n');
    const invalid = run('--config', f);
    assert.equal(invalid.status, 2);
    assert.match(invalid.stderr, /topics\.events\.partitions/);
    writeFileSync(f, 'kafka:\n  sasl: { mechanism: scram-sha-256, username: proc }\n');
    const ok = run('--config', f, '--check-config', '--brokers', 'a:1,b:2', '--clock', 'event');
    assert.equal(ok.status, 0, ok.stderr);
    const cfg = JSON.parse(ok.stdout) as { kafka: { brokers: string[] }; clock: string };
    assert.deepEqual(cfg.kafka.brokers, ['a:1', 'b:2']);
    assert.equal(cfg.clock, 'event');
    assert.ok(!ok.stdout.includes('from-env-secret'), 'the password is not part of the config');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
