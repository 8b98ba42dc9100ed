/**
 * Fleet alerts through the live processor (issue 15, parity "blind where the article looks"): parity_drift compares
 * every host with the fleet's majority, so it cannot run per events partition (a partition holds one or a few
 * regions). Each events partition forwards the heartbeats it accepts to the one-partition fleet topic, in its own
 * transaction, and the fleet processor (started beside it) runs the fleet alerts over all of them.
 *
 * Regression: every JP host runs another wrapper than HK, KR, SG and US. Per partition, JP's hosts agreed with each
 * other and nothing fired; fleet-wide each JP host is drift, exactly as replay says, and written once across a kill -9.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heartbeat } from '../../unit/engine/helpers.js';
import { INTEGRATION, World, reference, sorted, transitionKey, until } from './harness.js';
import type { Region } from '../../../schemas/events.js';

const skip = INTEGRATION ? false : 'needs the real broker: SIGNWATCH_INTEGRATION=1 after `npm run kafka:start`';
const REGIONS: Region[] = ['HK', 'JP', 'KR', 'SG', 'US'];
const GOOD = 'a'.repeat(64);
const JP_WRAPPER = 'b'.repeat(64);

void test('regression: all JP hosts on another wrapper than the rest of the fleet are parity drift live, as in replay (fleet topic), once across a kill -9', { skip, timeout: 180_000 }, async () => {
  const w = new World({ partitions: 6, clock: 'event' });
  try {
    await w.createEventsTopic();
    const t0 = Math.floor((Date.now() - 2 * 3_600_000) / 60_000) * 60_000;
    // two hosts per region, a heartbeat a minute for 10 minutes, each host at its own second (no two events at one
    // instant: the order of equal timestamps is arrival order, which partitions interleave differently than a file);
    // JP's two hosts agree with each other only
    const lines: string[] = [];
    for (let m = 0; m < 10; m++) {
      REGIONS.forEach((region, i) => {
        for (const n of [1, 2]) {
          const host = `mini-${region.toLowerCase()}-0${n}`;
          lines.push(JSON.stringify(heartbeat(t0 + m * 60_000 + (2 * i + n) * 1000, host, region === 'JP' ? JP_WRAPPER : GOOD, region)));
        }
      });
    }
    const expected = (await reference(lines)).transitions.filter((t) => t.alert === 'parity_drift');
    assert.deepEqual(
      [...new Set(expected.filter((t) => t.state === 'firing').map((t) => `${t.labels.region}/${t.labels.host}`))].sort(),
      ['JP/mini-jp-01', 'JP/mini-jp-02'],
      'replay: both JP hosts differ from the fleet majority',
    );
    // the fleet partition releases forwards once the fleet's watermark (newest forwarded time − allowedLateness, 5 min)
    // passes them; the events partitions stay within that of each other when the processor keeps up (here: a minute
    // of heartbeats at a time, as a running fleet sends them)
    const p0 = await w.startProcessor();
    for (let m = 0; m < 8; m++) {
      await w.produceLines(lines.slice(m * 10, m * 10 + 10));
      await w.waitCaughtUp();
    }
    await until('the JP parity pages', async () => (await w.transitions()).filter((t) => t.alert === 'parity_drift').length >= 2 || undefined, 60_000);
    await p0.kill9();
    await w.startProcessor();
    for (let m = 8; m < 10; m++) {
      await w.produceLines(lines.slice(m * 10, m * 10 + 10));
      await w.waitCaughtUp();
    }
    await w.waitCaughtUp();
    const live = (await w.transitions()).filter((t) => t.alert === 'parity_drift');
    assert.deepEqual(sorted(live, transitionKey).map(transitionKey), sorted(expected, transitionKey).map(transitionKey), 'live == replay, each transition written once');
    assert.ok(live.every((t) => t.details?.hosts?.length !== 0));
  } catch (e) {
    process.stderr.write(w.logs().slice(-6000));
    throw e;
  } finally {
    await w.cleanup();
  }
});
