/**
 * issue 16 item 14: per-host series are bounded by the policy (hostSeries.maxHosts): hosts beyond it are folded into
 * host "_other" and counted (signwatch_host_series_folded_total), and a host that stopped reporting for
 * hostSeries.evictAfter leaves /metrics, making room for a new one. The wall clock is injected: no sleeping.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTelemetry } from '../../../services/platform/telemetry.js';
import { ProcessorMetrics } from '../../../services/processor/metrics.js';
import { parsePolicy, defaultPolicy } from '../../../services/engine/policy.js';
import type { SignEvent } from '../../../schemas/events.js';
import { kcFail, heartbeat, unlock, T0 } from '../engine/helpers.js';

function setup(maxHosts: number, evictAfter: string) {
  const telemetry = createTelemetry({ serviceName: 't', host: '127.0.0.1', port: 0, serve: false });
  const clock = { now: T0 };
  const metrics = new ProcessorMetrics(telemetry, parsePolicy({ hostSeries: { maxHosts, evictAfter } }), () => [], () => clock.now);
  const scrape = async () => {
    metrics.flush();
    return telemetry.scrape();
  };
  return { metrics, clock, scrape, stop: () => telemetry.stop() };
}

const hostsIn = (text: string, metric: string) =>
  new Set([...text.matchAll(new RegExp(`^${metric}\\{[^}]*host="([^"]+)"`, 'gm'))].map((m) => m[1]!));
const value = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);

void test('issue 16 item 14: hosts beyond hostSeries.maxHosts are folded into _other and counted; the bound holds for every per-host metric', async () => {
  const s = setup(3, '1h');
  try {
    const events: SignEvent[] = [];
    for (let i = 0; i < 50; i++) {
      const host = `rnd-${i}`;
      events.push(kcFail(T0 + i, 'HK', host), heartbeat(T0 + i, host, undefined, 'HK'), unlock(T0 + i, 100 + i, 'HK', host));
    }
    for (const e of events) s.metrics.onEvent(e, 'accepted', true);
    const text = await s.scrape();
    for (const m of ['signwatch_host_events_total', 'signwatch_host_codesign_errors_total', 'signwatch_unlock_duration_ms_count']) {
      assert.deepEqual([...hostsIn(text, m)].sort(), ['_other', 'rnd-0', 'rnd-1', 'rnd-2'], m);
    }
    for (const m of ['signwatch_heartbeat_age_seconds', 'signwatch_agent_spool_depth_events']) {
      for (const h of hostsIn(text, m)) assert.ok(['rnd-0', 'rnd-1', 'rnd-2'].includes(h), `${m}: ${h}`);
    }
    // 47 folded hosts × 3 events each
    assert.equal(value(text, /^signwatch_host_series_folded_total\{region="HK"\} (\d+)/m), 141);
    assert.equal(value(text, /^signwatch_host_series_hosts (\d+)/m), 3);
    assert.equal(value(text, /^signwatch_host_events_total\{[^}]*host="_other"[^}]*type="codesign"[^}]*\} (\d+)/m), 47);
    assert.doesNotMatch(text, /otel_metric_overflow/);
  } finally {
    await s.stop();
  }
});

void test('issue 16 item 14: a host silent for hostSeries.evictAfter leaves /metrics and frees its place; an active one stays', async () => {
  const s = setup(2, '1h');
  try {
    s.metrics.onEvent(heartbeat(T0, 'quiet', undefined, 'SG'), 'accepted', true);
    s.metrics.onEvent(kcFail(T0, 'SG', 'busy'), 'accepted', true);
    let text = await s.scrape();
    assert.deepEqual([...hostsIn(text, 'signwatch_host_events_total')].sort(), ['busy', 'quiet']);
    // 50 minutes on, busy reports again; quiet does not
    s.clock.now = T0 + 50 * 60_000;
    s.metrics.onEvent(kcFail(T0 + 1, 'SG', 'busy'), 'accepted', true);
    // a new host while the table is full and nobody is stale yet: folded
    s.metrics.onEvent(kcFail(T0 + 2, 'SG', 'newcomer'), 'accepted', true);
    text = await s.scrape();
    assert.ok(hostsIn(text, 'signwatch_host_events_total').has('_other'));
    // past quiet's hour of silence: it is evicted from every per-host series, the newcomer gets a place
    s.clock.now = T0 + 61 * 60_000;
    s.metrics.onEvent(kcFail(T0 + 3, 'SG', 'newcomer'), 'accepted', true);
    text = await s.scrape();
    assert.deepEqual([...hostsIn(text, 'signwatch_host_events_total')].sort(), ['_other', 'busy', 'newcomer']);
    assert.equal(hostsIn(text, 'signwatch_heartbeat_age_seconds').has('quiet'), false);
    assert.equal(value(text, /^signwatch_host_events_total\{[^}]*host="busy"[^}]*\} (\d+)/m), 2, 'the active host keeps counting');
    assert.equal(value(text, /^signwatch_host_series_evicted_total (\d+)/m), 1);
  } finally {
    await s.stop();
  }
});

void test('issue 16 item 14: the policy bounds are validated, with defaults of 2000 hosts and 24 h', () => {
  assert.deepEqual(defaultPolicy().hostSeries, { maxHosts: 2000, evictAfter: 86_400_000 });
  assert.throws(() => parsePolicy({ hostSeries: { maxHosts: 0 } }), /hostSeries\.maxHosts/);
  assert.throws(() => parsePolicy({ hostSeries: { maxHost: 5 } }), /hostSeries\.maxHost: unknown key/);
});
