/**
 * Drills through the live processor on the real broker (SIGNWATCH_INTEGRATION=1): the drill scenario of the replay
 * test (three regions at different paces, a silent host, a timeout) produced to the events topic; the drill records
 * on the alert topic must be exactly replay's and the brute-force reference's, the processor's /metrics must say
 * each region's time to green, and `signwatch drill status|report` must read them from the alert topic. Then
 * `signwatch drill start` itself: the token book names the person, a wrong token sends nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { validateEvent, type SignEvent } from '../../../schemas/events.js';
import type { DrillRecord } from '../../../services/engine/drill.js';
import { defaultPolicy } from '../../../services/engine/policy.js';
import type { Transition } from '../../../services/engine/types.js';
import { hashToken } from '../../../services/platform/tokens.js';
import { replay } from '../../../services/replay/replay.js';
import { defaultDrillScenario, drillScenarioLines, REVOKED_SHA1 } from '../../../services/simulate/drill-scenario.js';
import { referenceDrills } from '../../unit/engine/drill-reference.js';
import { INTEGRATION, World, until } from '../processor/harness.js';

const skip = INTEGRATION ? false : 'needs the real broker: SIGNWATCH_INTEGRATION=1 after `npm run kafka:start`';
const MAIN = fileURLToPath(new URL('../../../services/cli/main.js', import.meta.url));
const START = Date.parse('2026-11-20T06:00:00.000Z');
const policy = defaultPolicy();

const key = (d: { drillId: string; region: string; at: string | number; state: string }) => `${d.drillId}|${d.region}|${typeof d.at === 'number' ? new Date(d.at).toISOString() : d.at}|${d.state}`;

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

void test('live processor: drill records == replay == brute force; exact time to green on /metrics; drill status and report read the alert topic', { skip, timeout: 180_000 }, async () => {
  const scenario = defaultDrillScenario(START);
  const lines = drillScenarioLines(scenario);
  const events = lines.map((l) => (validateEvent(JSON.parse(l)) as { ok: true; event: SignEvent }).event);
  const want = referenceDrills(events, policy);
  const replayed: DrillRecord[] = [];
  await replay(Readable.from(lines.map((l) => `${l}\n`)), { policy, now: START + 86_400_000, onDrill: (d) => replayed.push(d) });
  const w = new World({ partitions: 3, clock: 'event' });
  try {
    await w.createEventsTopic();
    await w.produceLines(lines);
    const p = await w.startProcessor('p0');
    await w.waitCaughtUp(90_000);
    const records = (await w.drain(w.topics.alerts)).map((r) => ({ key: r.key, v: JSON.parse(r.value) as DrillRecord | Transition }));
    const drills = records.filter((r) => r.v.kind === 'drill').map((r) => r.v as DrillRecord);
    assert.deepEqual(drills.map(key).sort(), replayed.map(key).sort(), 'the alert topic holds exactly the records replay prints');
    assert.deepEqual(drills.map(key).sort(), want.map((d) => key(d)).sort(), 'and exactly the brute-force reference');
    for (const r of records.filter((x) => x.v.kind === 'drill')) assert.equal(r.key, `signwatch/drill/${scenario.drillId}/${(r.v as DrillRecord).region}`);
    const finals = new Map(drills.filter((d) => d.state !== 'pending').map((d) => [d.region, d]));
    const refFinals = new Map(want.filter((d) => d.state !== 'pending').map((d) => [d.region, d]));
    for (const r of ['HK', 'JP', 'US'] as const) assert.equal(finals.get(r)?.timeToGreenMs, refFinals.get(r)?.timeToGreenMs, `${r}: exact time to green`);
    assert.equal(finals.get('US')?.state, 'red');
    // the drilled certificate's pages carry the drill id
    const pages = records.filter((r) => r.v.kind === 'transition' && (r.v).alert === 'cert_revoked').map((r) => r.v as Transition);
    assert.ok(pages.length >= 3 && pages.every((t) => t.drillId === scenario.drillId));

    // /metrics: time to green of HK and JP, pending hosts of US (the silent host)
    const text = await until('drill gauges on /metrics', async () => {
      const t = await (await fetch(`http://127.0.0.1:${p.metricsPort}/metrics`)).text();
      return t.includes('signwatch_drill_time_to_green_seconds') ? t : undefined;
    }, 60_000);
    const gauge = (name: string, region: string) => Number(new RegExp(`^${name}\\{region="${region}"\\} ([0-9.e+-]+)$`, 'm').exec(text)?.[1]);
    assert.equal(gauge('signwatch_drill_time_to_green_seconds', 'HK'), finals.get('HK')!.timeToGreenMs! / 1000);
    assert.equal(gauge('signwatch_drill_time_to_green_seconds', 'JP'), finals.get('JP')!.timeToGreenMs! / 1000);
    assert.equal(gauge('signwatch_drill_pending_hosts', 'US'), 1);
    assert.ok(!/signwatch_drill_time_to_green_seconds\{region="US"\}/.test(text), 'a red region has no time to green');

    // drill status / report from the alert topic
    const cfg = w.writeConfig('cli');
    const st = cli(['drill', 'status', '--config', cfg]);
    assert.equal(st.status, 0, st.stderr);
    assert.match(st.stdout, new RegExp(`^drill ${scenario.drillId}: certificate ${REVOKED_SHA1.slice(0, 8)}`, 'm'));
    assert.match(st.stdout, /^US\s+red \(timeout\)\s+4h 00m 00s\s+-\s+4\s+mini-us-03 \(scan, sign\)$/m);
    assert.match(st.stdout, new RegExp(`^HK\\s+green\\s+.+?\\s+${finals.get('HK')!.at.replace(/\./g, '\\.')}`, 'm'));
    const rep = cli(['drill', 'report', '--config', cfg, '--id', scenario.drillId, '-o', 'json']);
    assert.equal(rep.status, 0, rep.stderr);
    const j = JSON.parse(rep.stdout) as { drill: { regions: { region: string; timeToGreenMs: number | null }[] }; slowest: string; notGreen: string[] };
    assert.deepEqual(j.drill.regions.map((r) => [r.region, r.timeToGreenMs]), (['HK', 'JP', 'US'] as const).map((r) => [r, refFinals.get(r)!.timeToGreenMs]));
    assert.equal(j.slowest, 'JP');
    assert.deepEqual(j.notGreen, ['US']);
  } catch (e) {
    process.stderr.write(w.logs().slice(-5000));
    throw e;
  } finally {
    await w.cleanup();
  }
});

void test('signwatch drill start: the token book names the person; one drill event per region on the events topic; a wrong token sends nothing', { skip, timeout: 120_000 }, async () => {
  const w = new World({ partitions: 3, clock: 'event' });
  try {
    await w.createEventsTopic();
    const cfg = w.writeConfig('cli');
    const book = join(w.dir, 'tokens');
    writeFileSync(book, `alice ${hashToken('swt_alice-secret')}\n`, { mode: 0o600 });
    const tok = join(w.dir, 'alice.token');
    writeFileSync(tok, 'swt_alice-secret\n', { mode: 0o600 });
    chmodSync(book, 0o600);
    const bad = cli(['drill', 'start', '--config', cfg, '--cert', REVOKED_SHA1, '--token-book', book], { SIGNWATCH_DRILL_TOKEN: 'swt_wrong' });
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /^signwatch drill start: token: not in the token book /m);
    const ok = cli(['drill', 'start', '--config', cfg, '--cert', REVOKED_SHA1.toLowerCase(), '--region', 'HK', '--region', 'US', '--timeout', '6h', '--note', 'Q4', '--token-book', book, '--token-file', tok]);
    assert.equal(ok.status, 0, ok.stderr);
    const id = ok.stdout.trim();
    assert.match(id, /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    assert.match(ok.stderr, /started by alice at .* in HK, US \(2 events on /);
    const stop = cli(['drill', 'stop', '--config', cfg, '--id', id, '--region', 'HK', '--region', 'US', '--token-book', book, '--token-file', tok]);
    assert.equal(stop.status, 0, stop.stderr);
    const evs = (await w.drain(w.topics.events)).map((r) => ({ key: r.key, e: JSON.parse(r.value) as Record<string, unknown> }));
    assert.equal(evs.length, 4, 'a start and a stop per region, and nothing for the refused token');
    for (const { key, e } of evs) {
      assert.ok(validateEvent(e).ok);
      assert.equal(key, e.region);
      assert.equal(e.by, 'alice');
      assert.equal(e.drillId, id);
    }
    const starts = evs.filter((x) => x.e.action === 'start').map((x) => x.e);
    assert.deepEqual(starts.map((e) => e.region).sort(), ['HK', 'US']);
    assert.ok(starts.every((e) => e.sha1 === REVOKED_SHA1 && e.timeoutMs === 6 * 3_600_000 && e.note === 'Q4'));
    assert.doesNotMatch(JSON.stringify(evs), /swt_alice-secret/, 'the token is never written');
  } finally {
    await w.cleanup();
  }
});
