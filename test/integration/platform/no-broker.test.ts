/**
 * Without a broker every component says so in one line naming the broker list and what was tried, and exits 1
 * within the configured connection timeout (dlq export: --timeout when shorter) — no kafkajs error lines, no stacks.
 * "No broker" is a closed local port (the shared broker is never stopped).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../harness/net.js';

const MAIN = fileURLToPath(new URL('../../../services/cli/main.js', import.meta.url));


function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; ms: number }> {
  const t0 = Date.now();
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SIGNWATCH_'))) as Record<string, string>;
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    p.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
    p.on('close', (code) => resolve({ code, out, ms: Date.now() - t0 }));
  });
}

void test('no broker: processor, dlq export/replay, notifier, gate, demo and the agent each exit 1 with one line, within the connection timeout', { timeout: 120_000 }, async () => {
  const port = await freePort();
  const broker = `127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'sw-no-broker-'));
  try {
    const cfg = join(dir, 'kafka.yaml');
    // a 2 s connection timeout in the one block: every component honours it
    writeFileSync(cfg, `kafka:\n  brokers: ["${broker}"]\n  connectionTimeout: 2s\n`);
    const agentCfg = join(dir, 'agent.json');
    writeFileSync(agentCfg, JSON.stringify({ region: 'SG', host: 'mini-sg-01', dataDir: join(dir, 'agent'), kafka: { brokers: [broker], connectionTimeout: '2s' } }));
    const events = join(dir, 'events.ndjson');
    writeFileSync(events, `${JSON.stringify({ v: 1, id: '01JDXYZ0000000000000000001', ts: '2026-11-26T01:00:00.000Z', type: 'unlock', host: 'mac-sg-01', region: 'SG', pool: 'signing', agent: '0.1.0', outcome: 'ok', durationMs: 120, keychain: '/k' })}\n`);
    const cases: { what: string; args: string[]; env?: Record<string, string>; limitMs: number; line: RegExp }[] = [
      { what: 'processor', args: ['processor', '--config', cfg, '--metrics-port', '0'], limitMs: 2000, line: /^signwatch processor: Kafka: cannot connect to 127\.0\.0\.1:\d+ \(plaintext\): \d+ attempts in 2\.\d s; last: connect ECONNREFUSED 127\.0\.0\.1:\d+$/ },
      { what: 'dlq export --timeout 1s', args: ['dlq', 'export', '--config', cfg, '--timeout', '1s'], limitMs: 1000, line: /^signwatch dlq export: Kafka: cannot connect to 127\.0\.0\.1:\d+ \(plaintext\): \d+ attempts in 1\.\d s; last: connect ECONNREFUSED/ },
      { what: 'dlq replay', args: ['dlq', 'replay', '--config', cfg, events], limitMs: 2000, line: /^signwatch dlq replay: Kafka: cannot connect to 127\.0\.0\.1:\d+ \(plaintext\): .*ECONNREFUSED/ },
      { what: 'alerts notify', args: ['alerts', 'notify', '--config', cfg, '--metrics-port', '0', '--outbox', join(dir, 'outbox.sqlite')], env: { SIGNWATCH_PD_ROUTING_KEY: 'R0UTINGKEY00000000000000000000AA' }, limitMs: 2000, line: /^signwatch alerts notify: Kafka: cannot connect to 127\.0\.0\.1:\d+ \(plaintext\): .*ECONNREFUSED/ },
      { what: 'gate serve', args: ['gate', 'serve', '--config', cfg, '--port', '0'], limitMs: 2000, line: /^signwatch gate serve: Kafka: cannot connect to 127\.0\.0\.1:\d+ \(plaintext\): .*ECONNREFUSED/ },
    ];
    for (const c of cases) {
      const r = await run(c.args, c.env ?? {});
      const lines = r.out.split('\n').filter((l) => l.trim() !== '');
      assert.equal(r.code, 1, `${c.what}: exit 1\n${r.out}`);
      assert.equal(lines.length, 1, `${c.what}: exactly one line\n${r.out}`);
      assert.match(lines[0]!, c.line, c.what);
      assert.ok(lines[0]!.includes(broker), `${c.what}: names the broker`);
      // the limit plus node's start-up and the CLI's imports (generous on a loaded 2-core machine)
      assert.ok(r.ms < c.limitMs + 6000, `${c.what}: took ${r.ms} ms`);
      console.log(`# ${c.what}: exit ${r.code} after ${r.ms} ms: ${lines[0]}`);
    }

    // several brokers: each attempt asks the next one, and the line says what each answered
    const port2 = await freePort();
    const two = await run(['dlq', 'export', '--brokers', `${broker},127.0.0.1:${port2}`, '--timeout', '2s'], {});
    assert.equal(two.code, 1, two.out);
    assert.match(two.out.trim(), new RegExp(`^signwatch dlq export: Kafka: cannot connect to ${broker},127\\.0\\.0\\.1:${port2} \\(plaintext\\): \\d+ attempts in 2\\.\\d s; tried: connect ECONNREFUSED ${broker}; connect ECONNREFUSED 127\\.0\\.0\\.1:${port2}$`));

    // the demo (on an existing cluster from --config): its progress lines, then the one reason, exit 1
    const demo = await run(['demo', '--once', '--config', cfg, '--dir', join(dir, 'demo')], {});
    assert.equal(demo.code, 1, demo.out);
    assert.match(demo.out, /^signwatch demo: Kafka: cannot connect to 127\.0\.0\.1:\d+ \(plaintext\): \d+ attempts in 2\.\d s; last: connect ECONNREFUSED/m);
    assert.doesNotMatch(demo.out, /kafkajs|"stack"/);
    console.log(`# demo: exit ${demo.code} after ${demo.ms} ms`);

    // the agent daemon keeps events in its spool while offline; --once says why once and exits 1 at --timeout
    const agent = await run(['agent', 'run', '--once', '--timeout', '3', '--config', agentCfg], {});
    assert.equal(agent.code, 1, agent.out);
    const fails = agent.out.split('\n').filter((l) => l.includes('ship failed'));
    assert.equal(fails.length, 1, agent.out);
    assert.match(fails[0]!, new RegExp(`cannot ship to 127\\.0\\.0\\.1:${port} \\(plaintext\\): .*ECONNREFUSED`));
    assert.doesNotMatch(agent.out, /"stack"/);
    assert.ok(agent.ms < 3000 + 6000, `agent: took ${agent.ms} ms`);
    console.log(`# agent run --once --timeout 3: exit ${agent.code} after ${agent.ms} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
