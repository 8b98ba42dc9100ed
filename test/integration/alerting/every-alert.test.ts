/**
 * Every alert of the registry, fire → resolve, on every path it fires on (issue 15: "every alert must clear on every
 * path"): the every-alert scenario (test/harness/every-alert.ts) produced to the events topic, through the real
 * processor (child process, event clock) to
 *   - the alert topic            every dedup key that fired has resolved;
 *   - PagerDuty                  every trigger (the notifier's and Alertmanager's) is followed by a resolve with its
 *                                dedup key; the ticket receiver gets the certificate ticket opened and closed (both);
 *   - the release gate           each freezing alert's region frozen after phase 1, every region open after phase 2;
 *   - /metrics                   signwatch_alert_firing 1 for every alert after phase 1, no 1 left after phase 2;
 *                                signwatch_release_frozen likewise;
 *   - real Prometheus            running the generated rules over the processor's /metrics: ALERTS firing for every
 *                                alert after phase 1, none after phase 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseKafkaConnection } from '../../../services/platform/kafka-connection.js';
import { startFakePagerDuty } from '../../../services/alerting/fake-pagerduty.js';
import { startPromStackOnFakePagerDuty, type PromStack } from '../../harness/prom-stack.js';
import { startProcessorProcess } from '../../harness/processor-proc.js';
import { createNotifier } from '../../../services/alerting/notifier.js';
import { PagerDutyChannel, TicketWebhookChannel } from '../../../services/alerting/channels.js';
import { alertTopicNotifier } from '../../../services/alerting/alert-topic-notifier.js';
import { ReleaseGate } from '../../../services/alerting/release-gate.js';
import { freezingAlerts } from '../../../services/engine/engine.js';
import { RULES } from '../../../services/engine/rules/index.js';
import type { Transition } from '../../../services/engine/types.js';
import { everyAlertPolicy, everyAlertPolicyInput, everyAlertScenario } from '../../harness/every-alert.js';

const BROKERS = (process.env.SIGNWATCH_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const ROUTING_KEY = 'R0UTINGKEY00000000000000000000AA';
const skip = process.env.SIGNWATCH_INTEGRATION === '1' ? false : 'needs the real broker and Prometheus: SIGNWATCH_INTEGRATION=1';
const ALL = RULES.map((r) => r.name).sort();

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `signwatch_alert_firing` samples: alert → values seen. */
async function alertFiring(url: string): Promise<Map<string, number[]>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number[]>();
  for (const m of text.matchAll(/^signwatch_alert_firing\{([^}]*)\} (\S+)$/gm)) {
    const alert = /alert="([^"]+)"/.exec(m[1]!)?.[1];
    if (alert) out.set(alert, [...(out.get(alert) ?? []), Number(m[2])]);
  }
  return out;
}

async function frozenRegions(url: string): Promise<string[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(/^signwatch_release_frozen\{[^}]*region="([A-Z]{2})"[^}]*\} 1$/gm)].map((m) => m[1]!).sort();
}

async function promFiring(prometheusUrl: string): Promise<string[]> {
  const r = (await (await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent('ALERTS{alertstate="firing"}')}`)).json()) as { data: { result: { metric: { alertname: string } }[] } };
  return [...new Set(r.data.result.map((x) => x.metric.alertname))].sort();
}

void test('every alert fires and then clears on every path: alert topic, PagerDuty, ticket, gate, /metrics, real Prometheus', { skip, timeout: 300_000 }, async () => {
  const policy = everyAlertPolicy();
  const dir = mkdtempSync(join(tmpdir(), 'sw-every-alert-'));
  const policyPath = join(dir, 'policy.json');
  writeFileSync(policyPath, JSON.stringify(everyAlertPolicyInput()));
  const pd = await startFakePagerDuty();
  const proc = await startProcessorProcess({ brokers: BROKERS, clock: 'event', policyPath });
  const gate = new ReleaseGate(policy);
  const transitions: Transition[] = [];
  const bridge = alertTopicNotifier({
    kafka: parseKafkaConnection({ brokers: BROKERS }, 'sw-test-every-alert'),
    topic: proc.topics.alerts,
    groupId: `${proc.topics.alerts}-notifier`,
    notifier: createNotifier(
      { outboxPath: join(dir, 'outbox.sqlite'), retry: { baseMs: 50, maxMs: 500 } },
      { policy, logger: pino({ level: 'silent' }), channels: { pagerduty: new PagerDutyChannel(ROUTING_KEY, pd.eventsUrl), ticket: new TicketWebhookChannel(`${pd.url}/ticket`) } },
    ),
    onTransition: (t) => {
      transitions.push(t);
      gate.apply(t);
    },
  });
  let stack: PromStack | undefined;
  try {
    await bridge.start();
    stack = await startPromStackOnFakePagerDuty({ policy, targets: [proc.metricsTarget], pd, routingKey: ROUTING_KEY });
    const metricsUrl = `http://${proc.metricsTarget}`;
    // every event in the broker's past: phase 2 ends ~4 h before now
    const t0 = Math.floor((Date.now() - 31 * 3_600_000) / 60_000) * 60_000;
    const s = everyAlertScenario(t0);
    const open = () => {
      const m = new Map<string, string>();
      for (const t of transitions) {
        if (t.state === 'firing') m.set(t.dedupKey, t.alert);
        else m.delete(t.dedupKey);
      }
      return m;
    };

    // ── phase 1: every alert fires ────────────────────────────────────────────────────────────────────────────────
    await proc.produce(s.phase1);
    await until('every alert firing on the alert topic', () => [...new Set(open().values())].sort().join() === ALL.join() || undefined, 90_000);
    await until('signwatch_alert_firing 1 for every alert', async () => {
      const g = await alertFiring(metricsUrl);
      return ALL.every((a) => g.get(a)?.includes(1)) || undefined;
    }, 60_000);
    const freezing = freezingAlerts(policy);
    const mustFreeze = [...new Set(ALL.filter((a) => freezing.has(a)).map((a) => s.regionOf[a]!))].sort();
    for (const r of mustFreeze) assert.equal(gate.state(r as never).frozen, true, `gate: ${r} frozen by its firing alert`);
    assert.deepEqual(await frozenRegions(metricsUrl), mustFreeze, 'signwatch_release_frozen 1 exactly where the gate is frozen');
    await until('Prometheus: ALERTS firing for every alert', async () => ((await promFiring(stack!.prometheusUrl)).join() === ALL.join() ? true : undefined), 90_000);
    const direct = (action: string) => pd.events.filter((e) => e.body.client === 'signwatch' && e.body.event_action === action).map((e) => e.body.dedup_key as string);
    await until('PagerDuty triggers for the paging alerts', () => direct('trigger').length > 0 || undefined, 60_000);
    const viaAm = (action: string) => pd.events.filter((e) => e.body.client === 'Alertmanager' && e.body.event_action === action).map((e) => e.body.dedup_key as string);
    await until('Alertmanager pages through PagerDuty and sends the ticket', () => (viaAm('trigger').length > 0 && pd.webhooks('/ticket').some((w) => (w.body as { status?: string }).status === 'firing')) || undefined, 90_000);

    // ── phase 2: every alert resolves ─────────────────────────────────────────────────────────────────────────────
    await proc.produce(s.phase2);
    await until('nothing firing on the alert topic', () => open().size === 0 || undefined, 90_000);
    for (const r of ['HK', 'JP', 'KR', 'SG', 'US'] as const) assert.equal(gate.state(r).frozen, false, `gate: ${r} open again`);
    await until('no signwatch_alert_firing 1 left', async () => {
      const g = await alertFiring(metricsUrl);
      return [...g.values()].every((v) => !v.includes(1)) || undefined;
    }, 60_000);
    assert.deepEqual(await frozenRegions(metricsUrl), [], 'no region frozen on /metrics');
    await until('Prometheus: no ALERTS firing', async () => ((await promFiring(stack!.prometheusUrl)).length === 0 ? true : undefined), 120_000);
    await until('a PagerDuty resolve for every trigger', () => {
      const resolved = new Set(direct('resolve'));
      return direct('trigger').every((k) => resolved.has(k)) || undefined;
    }, 60_000);
    await until('a PagerDuty resolve for every Alertmanager trigger', () => {
      const resolved = new Set(viaAm('resolve'));
      return viaAm('trigger').every((k) => resolved.has(k)) || undefined;
    }, 90_000);
    // the ticket receiver: the notifier's tickets ({key, action}) and Alertmanager's webhook ({groupKey, status})
    const bodies = () => pd.webhooks('/ticket').map((w) => w.body as { key?: string; action?: string; groupKey?: string; status?: string });
    const opened = bodies().filter((b) => b.key !== undefined && b.action === 'open').map((b) => b.key!);
    assert.ok(opened.length > 0, 'the notifier opened the certificate ticket');
    await until('every ticket the notifier opened resolved', () => {
      const closed = new Set(bodies().filter((b) => b.key !== undefined && b.action === 'resolve').map((b) => b.key!));
      return opened.every((k) => closed.has(k)) || undefined;
    }, 60_000);
    const amFiring = [...new Set(bodies().filter((b) => b.groupKey !== undefined && b.status === 'firing').map((b) => b.groupKey!))];
    assert.ok(amFiring.length > 0, 'Alertmanager sent the certificate ticket');
    await until('every Alertmanager ticket group resolved', () => {
      const last = new Map<string, string>();
      for (const b of bodies()) if (b.groupKey !== undefined) last.set(b.groupKey, b.status ?? '');
      return amFiring.every((g) => last.get(g) === 'resolved') || undefined;
    }, 90_000);
  } finally {
    await stack?.stop();
    await bridge.stop();
    await proc.stop();
    await pd.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
