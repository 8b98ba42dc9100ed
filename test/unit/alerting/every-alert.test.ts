/**
 * The every-alert scenario (test/harness/every-alert.ts) through replay: after phase 1 every alert of the registry is
 * firing, after phase 2 none is. The live version (every path: alert topic, PagerDuty, gate, /metrics, Prometheus) is
 * test/integration/alerting/every-alert.test.ts; this one proves the scenario itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine, MemorySink } from '../../../services/engine/engine.js';
import { RULES } from '../../../services/engine/rules/index.js';
import { everyAlertPolicy, everyAlertScenario } from '../../harness/every-alert.js';

void test('every alert of the registry fires in phase 1 and every one has resolved after phase 2 (replay engine)', () => {
  const s = everyAlertScenario(Date.parse('2026-11-20T00:00:00.000Z'));
  const sink = new MemorySink();
  const engine = createEngine(everyAlertPolicy(), sink);
  for (const e of s.phase1) engine.offer(e);
  const firing = (): Map<string, string> => {
    const open = new Map<string, string>();
    for (const t of sink.transitions) {
      if (t.state === 'firing') open.set(t.dedupKey, t.alert);
      else open.delete(t.dedupKey);
    }
    return open;
  };
  const after1 = new Set(firing().values());
  assert.deepEqual([...after1].sort(), RULES.map((r) => r.name).sort(), 'every alert firing at the end of phase 1');
  for (const [key, alert] of firing()) {
    const region = s.regionOf[alert];
    if (alert !== 'host_silent' && alert !== 'region_silent') assert.match(key, new RegExp(`region=${region}`), `${alert} fires in ${region}`);
  }
  for (const e of s.phase2) engine.offer(e);
  assert.deepEqual([...firing().keys()], [], 'nothing firing after phase 2');
});
