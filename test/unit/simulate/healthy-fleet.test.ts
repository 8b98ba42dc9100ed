/**
 * No alert that lies: a healthy simulated fleet (no incidents) runs for hours through every alert and raises
 * nothing; its hosts heartbeat once a minute as the daemon does, so host_silent stays quiet; the same fleet with one
 * host that stops heartbeating raises host_silent for that host alone, and it clears when the host is back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultPolicy } from '../../../services/engine/policy.js';
import { createEngine, MemorySink } from '../../../services/engine/engine.js';
import { simulate } from '../../../services/simulate/simulate.js';
import type { SignEvent } from '../../../schemas/events.js';

const START = Date.parse('2026-11-01T00:00:00.000Z');

void test('a healthy fleet raises nothing over 4 simulated hours (three seeds)', () => {
  for (const seed of [1, 2, 3]) {
    const sink = new MemorySink();
    const engine = createEngine(defaultPolicy(), sink);
    let beats = 0;
    for (const line of simulate({ seed, start: START, events: 28_800 })) {
      const e = JSON.parse(line) as SignEvent;
      if (e.type === 'heartbeat') beats++;
      engine.offer(e);
    }
    engine.flush();
    assert.deepEqual(sink.transitions.map((t) => `${t.alert} ${JSON.stringify(t.labels)} ${t.state}`), [], `seed ${seed}`);
    assert.ok(beats >= 25 * 60 * 3.9, `seed ${seed}: every host heartbeats once a minute (${beats})`);
  }
});

void test('one host stops heartbeating for 30 min: host_silent fires for it alone and resolves when it is back', () => {
  const gapFrom = START + 60 * 60_000;
  const gapTo = gapFrom + 30 * 60_000;
  const run = (gap: boolean) => {
    const sink = new MemorySink();
    const engine = createEngine(defaultPolicy(), sink);
    for (const line of simulate({ seed: 4, start: START, events: 14_400 })) {
      const e = JSON.parse(line) as SignEvent;
      const t = Date.parse(e.ts);
      if (gap && e.host === 'mini-jp-02' && t >= gapFrom && t < gapTo) continue; // the host is down: it sends nothing
      engine.offer(e);
    }
    engine.flush();
    return sink.transitions;
  };
  const withGap = run(true);
  const silent = withGap.filter((t) => t.alert === 'host_silent');
  assert.deepEqual(silent.map((t) => [t.labels.host, t.state]), [['mini-jp-02', 'firing'], ['mini-jp-02', 'resolved']]);
  // its last heartbeat was at most a minute before the gap: it fires 15 min after that one
  const firedAfter = Date.parse(silent[0]!.at) - gapFrom;
  assert.ok(firedAfter >= 14 * 60_000 && firedAfter <= 15 * 60_000, `fires 15 min after the last heartbeat (${firedAfter} ms into the gap)`);
  assert.ok(Date.parse(silent[1]!.at) >= gapTo, 'resolves when the host is heard from again');
  // the silence changes nothing else (this seed has an early SG unlock warning of its own: few samples, one outlier)
  const key = (t: { alert: string; state: string; at: string; labels: object }) => `${t.alert} ${JSON.stringify(t.labels)} ${t.state} ${t.at}`;
  assert.deepEqual(withGap.filter((t) => t.alert !== 'host_silent').map(key), run(false).map(key));
});
