/**
 * End to end on a secured cluster: agent → SASL_SSL broker → processor → alert topic → notifier → PagerDuty, every
 * component a real process with the same `kafka:` block (SASL_SSL listener, test CA, SCRAM user; the password in a
 * 0600 file). Three keychain-class codesign failures recorded by `signwatch agent exec` on an HK host, shipped by
 * `agent run --once`, page HK through `signwatch processor` and `signwatch alerts notify`. The password appears in no
 * argv and no log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakePagerDuty } from '../../../services/alerting/fake-pagerduty.js';
import { startProcessorProcess } from '../../harness/processor-proc.js';
import { cmdlines, startSaslBroker } from '../../harness/sasl-broker.js';
import { cliAsync, sandbox, spooled } from '../../unit/agent/helpers.js';
import { ROUTING_KEY } from '../../unit/alerting/transitions.js';

const MAIN = fileURLToPath(new URL('../../../services/cli/main.js', import.meta.url));

void test('agent → SASL_SSL broker → processor → notifier over SASL_SSL: the HK keychain page reaches PagerDuty', { timeout: 180_000 }, async () => {
  const broker = await startSaslBroker();
  const pd = await startFakePagerDuty();
  const dir = mkdtempSync(join(tmpdir(), 'sw-sasl-e2e-'));
  const sb = sandbox();
  let notifier: ChildProcess | undefined;
  let notifierOut = '';
  let proc: Awaited<ReturnType<typeof startProcessorProcess>> | undefined;
  try {
    proc = await startProcessorProcess({ brokers: [broker.plaintext], clock: 'event', kafka: broker.block({ mechanism: 'scram-sha-512' }) });

    writeFileSync(join(dir, 'notify.json'), JSON.stringify({ kafka: broker.block({ mechanism: 'scram-sha-256' }), topic: proc.topics.alerts, groupId: `${proc.topics.alerts}-n`, outbox: join(dir, 'outbox.sqlite'), pagerdutyUrl: pd.eventsUrl, metrics: { port: 0 } }));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SIGNWATCH_'))) as Record<string, string>;
    notifier = spawn(process.execPath, [MAIN, 'alerts', 'notify', '--config', join(dir, 'notify.json')], { env: { ...env, SIGNWATCH_PD_ROUTING_KEY: ROUTING_KEY }, stdio: ['ignore', 'pipe', 'pipe'] });
    notifier.stdout?.setEncoding('utf8').on('data', (s: string) => (notifierOut += s));
    notifier.stderr?.setEncoding('utf8').on('data', (s: string) => (notifierOut += s));

    // the agent: three keychain failures on an HK signing host, shipped over SASL_SSL
    writeFileSync(sb.config, JSON.stringify({ region: 'HK', host: 'mini-hk-01', dataDir: sb.dataDir, kafka: { ...broker.block(), topic: proc.topics.events }, intervals: { shipMs: 100, heartbeatSec: 3600, scanSec: 3600, clockSec: 3600 } }));
    for (let i = 0; i < 3; i++) {
      const r = await cliAsync(['agent', 'exec', '--', 'codesign', '-s', 'X', `a${i}.app`], { ...sb.env, FAKE_CODESIGN: 'codesign-errSecInternalComponent__replacing-existing' });
      assert.equal(r.code, 1, r.stderr);
    }
    assert.equal(spooled(sb.dataDir).length, 3);
    let agentPid = 0;
    let agentArgv = '';
    const shipped = await cliAsync(['agent', 'run', '--once', '--timeout', '60'], sb.env, {
      onSpawn: (p) => {
        agentPid = p;
        void cmdlines([p]).then((a) => (agentArgv = a));
      },
    });
    assert.equal(shipped.code, 0, shipped.stdout + shipped.stderr);
    assert.ok(agentPid > 0);

    await pd.waitFor((f) => f.events.some((e) => e.body.dedup_key === 'signwatch/codesign_keychain_failures/region=HK' && e.body.event_action === 'trigger'), 90_000);
    const argv = (await cmdlines([proc.pid, notifier.pid!])) + agentArgv;
    assert.match(argv, /processor --config/);
    assert.match(argv, /alerts notify --config/);
    assert.match(argv, /agent run --once/);
    assert.ok(!argv.includes(broker.password), 'no password in any argv');
    const logs = proc.log() + notifierOut + shipped.stdout + shipped.stderr;
    assert.ok(!logs.includes(broker.password), 'no password in any log');
  } finally {
    if (notifier && notifier.exitCode === null && notifier.signalCode === null) {
      const closed = new Promise((r) => notifier!.once('close', r));
      notifier.kill('SIGTERM');
      await closed;
    }
    await proc?.stop();
    await pd.close();
    sb.cleanup();
    rmSync(dir, { recursive: true, force: true });
    await broker.stop();
  }
});
