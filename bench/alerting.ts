/**
 * Time to page. Three paths measured in one run, each ending when the local PagerDuty server (the Events API v2
 * fake) receives the trigger:
 *
 *  1. notifier only (baseline):  Transition → notifier.accept (SQLite outbox, fsync) → POST → fake PagerDuty
 *  2. direct path, last leg:      transition produced to the alert topic (Kafka, acks=all) → alerts notify bridge
 *                                 (consumer, read committed) → outbox → fake PagerDuty
 *  3. full direct path:           the third keychain failure produced to the events topic → processor (engine,
 *                                 transactional write of the transition) → alert topic → bridge → fake PagerDuty
 *                                 (the real `signwatch processor` as a child process, event clock; trial k uses event
 *                                 times 2 h after trial k−1 so every trial is a new episode)
 *  4. Prometheus + Alertmanager with their DEFAULT intervals (scrape 1m, evaluation 1m, group_wait 30s): a gauge of
 *     the processor's name flips over the threshold on a static exporter → real Prometheus (generated rules) → real
 *     Alertmanager (generated routing) → fake PagerDuty. Trials run concurrently (one alert group per trial, via a
 *     distinct region label) with start times spread over 2 minutes, so phases relative to the scrape/evaluation
 *     ticks are sampled uniformly. Skip with SIGNWATCH_BENCH_ALERTING_PROM=0.
 *
 *   node dist/bench/alerting.js                     (prints the markdown section)
 *   env: SIGNWATCH_BENCH_ALERTING_TRIALS (default 100), SIGNWATCH_BENCH_ALERTING_PROM_TRIALS (default 100),
 *        SIGNWATCH_BENCH_ALERTING_PROM=0, SIGNWATCH_KAFKA_BROKERS (default 127.0.0.1:9092)
 */
import { testKafka } from '../test/harness/kafka.js';
import { parseKafkaConnection } from '../services/platform/kafka-connection.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { createLogger } from '../services/platform/logger.js';
import { startFakePagerDuty, type FakePagerDuty } from '../services/alerting/fake-pagerduty.js';
import { createNotifier } from '../services/alerting/notifier.js';
import { PagerDutyChannel } from '../services/alerting/channels.js';
import { alertTopicNotifier } from '../services/alerting/alert-topic-notifier.js';
import { startPromStack, startStaticExporter } from '../test/harness/prom-stack.js';
import { loadPolicy } from '../services/engine/policy.js';
import { ALERT_METRICS } from '../services/engine/rules/index.js';
import type { Transition } from '../services/engine/types.js';
import { keychainFailure, startProcessorProcess } from '../test/harness/processor-proc.js';

const ROUTING_KEY = 'R0UTINGKEY00000000000000000000AA';
const silent = createLogger({ name: 'bench', level: 'silent' });
const env = (k: string, d: number) => (process.env[k] !== undefined ? Number(process.env[k]) : d);

interface Stats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

function stats(xs: number[]): Stats {
  const s = xs.slice().sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  return { n: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[s.length - 1]!, mean: s.reduce((a, b) => a + b, 0) / s.length };
}

const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(1)} ms`);

function transitionFor(i: number, region = 'HK'): Transition {
  const labels = { region, trial: String(i) };
  return {
    kind: 'transition',
    alert: 'codesign_keychain_failures',
    labels,
    state: 'firing',
    at: new Date(Date.UTC(2026, 10, 26) + i * 1000).toISOString(),
    value: 3,
    threshold: 2,
    severity: 'critical',
    dedupKey: `signwatch/codesign_keychain_failures/region=${region},trial=${i}`,
    summary: `${region}: 3 keychain-class codesign failures in the trailing hour (bench trial ${i})`,
    details: { hosts: ['mac-hk-01'], keychains: ['/k'], partitionIds: ['apple-tool:'], errorCodes: ['errSecInternalComponent'], correlationIds: [], eventIds: [] },
  };
}

/** Waits for the event whose dedup key is `key`; returns its arrival time. */
function arrival(pd: FakePagerDuty, key: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const prev = pd.onEvent;
    const t = setTimeout(() => {
      pd.onEvent = prev;
      reject(new Error(`no PagerDuty event for ${key} within ${timeoutMs} ms`));
    }, timeoutMs);
    pd.onEvent = (body, at) => {
      if (body.dedup_key === key) {
        clearTimeout(t);
        pd.onEvent = prev;
        resolve(at);
      }
    };
  });
}

async function notifierOnly(trials: number): Promise<Stats> {
  const pd = await startFakePagerDuty();
  const dir = mkdtempSync(join(tmpdir(), 'sw-bench-alerting-'));
  const n = createNotifier({ outboxPath: join(dir, 'outbox.sqlite'), routes: { ticket: [] } }, { policy: loadPolicy(), logger: silent, channels: { pagerduty: new PagerDutyChannel(ROUTING_KEY, pd.eventsUrl) } });
  await n.start();
  const xs: number[] = [];
  try {
    for (let i = 0; i < trials; i++) {
      const t = transitionFor(i);
      const got = arrival(pd, t.dedupKey, 10_000);
      const t0 = Date.now();
      n.accept(t);
      xs.push((await got) - t0);
    }
  } finally {
    await n.stop();
    await pd.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return stats(xs);
}

async function alertTopicPath(trials: number, brokers: string[]): Promise<Stats> {
  const pd = await startFakePagerDuty();
  const dir = mkdtempSync(join(tmpdir(), 'sw-bench-alerting-'));
  const kafka = testKafka(brokers, 'sw-bench-alerting');
  const topic = `sw-bench-alerts-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const n = createNotifier({ outboxPath: join(dir, 'outbox.sqlite'), routes: { ticket: [] } }, { policy: loadPolicy(), logger: silent, channels: { pagerduty: new PagerDutyChannel(ROUTING_KEY, pd.eventsUrl) } });
  const bridge = alertTopicNotifier({ kafka: parseKafkaConnection({ brokers }, 'sw-bench-notifier'), topic, groupId: `sw-bench-${randomUUID().slice(0, 8)}`, notifier: n, logger: silent });
  await bridge.start();
  const xs: number[] = [];
  try {
    // warm-up: the group join and first fetch are not part of time-to-page
    const w = transitionFor(-1);
    const wa = arrival(pd, w.dedupKey, 30_000);
    await producer.send({ topic, acks: -1, messages: [{ key: w.dedupKey, value: JSON.stringify(w) }] });
    await wa;
    for (let i = 0; i < trials; i++) {
      const t = transitionFor(i);
      const got = arrival(pd, t.dedupKey, 10_000);
      const t0 = Date.now();
      await producer.send({ topic, acks: -1, messages: [{ key: t.dedupKey, value: JSON.stringify(t) }] });
      xs.push((await got) - t0);
    }
  } finally {
    await bridge.stop();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await pd.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return stats(xs);
}

async function fullDirectPath(trials: number, brokers: string[]): Promise<Stats> {
  const policy = loadPolicy();
  const pd = await startFakePagerDuty();
  const dir = mkdtempSync(join(tmpdir(), 'sw-bench-alerting-'));
  const proc = await startProcessorProcess({ brokers, clock: 'event' });
  const n = createNotifier({ outboxPath: join(dir, 'outbox.sqlite'), routes: { ticket: [] } }, { policy, logger: silent, channels: { pagerduty: new PagerDutyChannel(ROUTING_KEY, pd.eventsUrl) } });
  const bridge = alertTopicNotifier({ kafka: parseKafkaConnection({ brokers }, 'sw-bench-notifier'), topic: proc.topics.alerts, groupId: `${proc.topics.alerts}-bench`, notifier: n, logger: silent });
  const xs: number[] = [];
  try {
    await bridge.start();
    const T0 = Date.now() - 400 * 3_600_000;
    let waiting: { ts: string; resolve: (at: number) => void } | undefined;
    pd.onEvent = (body, at) => {
      const p = body.payload as { timestamp?: string } | undefined;
      if (waiting && body.event_action === 'trigger' && p?.timestamp === waiting.ts) waiting.resolve(at);
    };
    for (let k = -1; k < trials; k++) {
      // k = -1 is a warm-up (consumer group joins, first transaction) and is not counted
      const base = T0 + (k + 1) * 2 * 3_600_000;
      const iso = (ms: number) => new Date(base + ms).toISOString();
      await proc.produce([keychainFailure('HK', iso(0)), keychainFailure('HK', iso(1000))]);
      await new Promise((r) => setTimeout(r, 20));
      const third = keychainFailure('HK', iso(2000));
      const got = new Promise<number>((resolve, reject) => {
        waiting = { ts: iso(2000), resolve };
        setTimeout(() => reject(new Error(`trial ${k}: no page within 30 s`)), 30_000).unref();
      });
      const t0 = Date.now();
      await proc.produce([third]);
      const at = await got;
      if (k >= 0) xs.push(at - t0);
    }
  } finally {
    await bridge.stop();
    await proc.stop();
    await pd.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return stats(xs);
}

async function prometheusPath(trials: number, spreadMs: number): Promise<{ s: Stats; timeouts: number }> {
  const policy = loadPolicy();
  const pd = await startFakePagerDuty();
  const exporter = await startStaticExporter();
  const stack = await startPromStack({
    policy,
    targets: [exporter.url.replace('http://', '')],
    pagerdutyUrl: pd.eventsUrl,
    chatWebhookUrl: `${pd.url}/chat`,
    ticketWebhookUrl: `${pd.url}/ticket`,
    routingKey: ROUTING_KEY,
    // Prometheus defaults (global scrape_interval and evaluation_interval are 1m) and the generated Alertmanager
    // config, which spells out Alertmanager's defaults (group_wait 30s, group_interval 5m)
  });
  const T = policy.alerts.codesign_keychain_failures.threshold;
  const started = new Map<string, number>();
  const arrived = new Map<string, number>();
  pd.onEvent = (body, at) => {
    const g = (body.payload as { group?: string } | undefined)?.group;
    if (body.event_action === 'trigger' && g && started.has(g) && !arrived.has(g)) arrived.set(g, at);
  };
  try {
    // let Prometheus scrape the exporter once before the first trial
    await new Promise((r) => setTimeout(r, 2000));
    const timers: NodeJS.Timeout[] = [];
    for (let i = 0; i < trials; i++) {
      const region = `B${i}`;
      exporter.set(ALERT_METRICS.keychainFailures, { region }, 0);
      timers.push(
        setTimeout(() => {
          started.set(region, Date.now());
          exporter.set(ALERT_METRICS.keychainFailures, { region }, T + 1);
        }, Math.random() * spreadMs),
      );
    }
    const deadline = Date.now() + spreadMs + 200_000;
    while (arrived.size < trials && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    timers.forEach(clearTimeout);
  } finally {
    await stack.stop();
    await exporter.close();
    await pd.close();
  }
  const xs = [...arrived].map(([g, at]) => at - started.get(g)!);
  return { s: stats(xs), timeouts: trials - xs.length };
}

export async function run(): Promise<string> {
  const trials = env('SIGNWATCH_BENCH_ALERTING_TRIALS', 100);
  const promTrials = env('SIGNWATCH_BENCH_ALERTING_PROM_TRIALS', 100);
  const brokers = (process.env.SIGNWATCH_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const rows: string[] = [];
  const row = (path: string, s: Stats, note = '') => rows.push(`| ${path} | ${s.n} | ${fmt(s.p50)} | ${fmt(s.p90)} | ${fmt(s.p99)} | ${fmt(s.max)} | ${note} |`);
  const a = await notifierOnly(trials);
  row('notifier only: accept → outbox (fsync) → POST → fake PagerDuty (baseline)', a);
  let b: Stats | undefined;
  try {
    b = await alertTopicPath(trials, brokers);
    row('direct, last leg: alert topic (acks=all) → `alerts notify` → outbox → fake PagerDuty', b, `${(b.p50 / a.p50).toFixed(1)}× baseline p50`);
  } catch (e) {
    rows.push(`| direct, last leg (alert topic → PagerDuty) | 0 | – | – | – | – | not measured: ${(e as Error).message} |`);
  }
  let c: Stats | undefined;
  try {
    c = await fullDirectPath(trials, brokers);
    row('**direct path**: third keychain failure produced to the events topic → processor → alert topic → `alerts notify` → fake PagerDuty', c, `target p99 ≤ 150 ms (issue 23; ≤ 1 s in issue 5): ${c.p99 <= 150 ? 'met' : 'NOT met'}`);
  } catch (e) {
    rows.push(`| direct path (events → processor → alert topic → PagerDuty) | 0 | – | – | – | – | not measured: ${(e as Error).message.slice(0, 200)} |`);
  }
  let p: { s: Stats; timeouts: number } | undefined;
  if (process.env.SIGNWATCH_BENCH_ALERTING_PROM !== '0') {
    p = await prometheusPath(promTrials, 120_000);
    row('Prometheus 2.42 + Alertmanager 0.25, default intervals (scrape 1m, eval 1m, group_wait 30s)', p.s, `${p.timeouts} trial(s) timed out${c ? `; ${(p.s.p50 / c.p50).toFixed(0)}× the direct path p50` : ''}`);
  }
  return [
    '## Alerting: time to page',
    '',
    `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((x) => x.toFixed(2)).join(' ')}, Node ${process.version}. Command: \`node dist/bench/alerting.js\`.`,
    '',
    '| path | trials | p50 | p90 | p99 | max | note |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
    '',
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run().then(
    (md) => process.stdout.write(md),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
