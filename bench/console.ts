/**
 * Time from a transition produced on the alert topic to the Fleet tile changing in the browser (issue 21).
 *
 * One console (services/console/server.ts, the real alert-topic reader, no token book, loopback) on a fresh alert
 * topic of the real broker, one headless Chromium (/usr/bin/chromium via puppeteer-core) on its Fleet page. The page
 * gets a MutationObserver that stamps Date.now() whenever the HK tile's state word changes. Each console trial
 * produces one transition for HK (acks=all), alternately firing and resolved, so the tile flips FROZEN ↔ OPEN; its
 * latency is the page's stamp minus Date.now() just before the send (the same machine clock). The console's own
 * apply time (the reader's onTransition) is kept too, which splits the path into Kafka → console and console → SSE →
 * DOM.
 *
 * Baseline, same run, alternating with the console trials: the produce → consume round trip on the same broker, one
 * message produced (acks=all) to another fresh topic and received by a kafkajs consumer configured like the
 * console's reader (own group, read committed), in this process.
 *
 *   node dist/bench/console.js               (prints the markdown section; BENCH_ONLY=console npm run bench)
 *   env: SIGNWATCH_BENCH_CONSOLE_TRIALS (default 100), SIGNWATCH_KAFKA_BROKERS (default 127.0.0.1:9092),
 *        SIGNWATCH_CHROMIUM (default /usr/bin/chromium)
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';
import { testKafka } from '../test/harness/kafka.js';
import { parseKafkaConnection } from '../services/platform/kafka-connection.js';
import { createLogger } from '../services/platform/logger.js';
import { createTelemetry } from '../services/platform/telemetry.js';
import { defaultPolicy } from '../services/engine/policy.js';
import { alertTopicReader } from '../services/alerting/alert-topic.js';
import { ConsoleState } from '../services/console/state.js';
import { startConsole } from '../services/console/server.js';
import type { Transition } from '../services/engine/types.js';

const silent = createLogger({ name: 'bench', level: 'silent' });
const BROKERS = (process.env.SIGNWATCH_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const CHROMIUM = process.env.SIGNWATCH_CHROMIUM ?? '/usr/bin/chromium';
const TRIALS = Number(process.env.SIGNWATCH_BENCH_CONSOLE_TRIALS ?? 100);
const TIMEOUT_MS = 120_000;

interface Stats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function stats(xs: number[]): Stats {
  const s = xs.slice().sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  return { n: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[s.length - 1]!, mean: s.reduce((a, b) => a + b, 0) / s.length };
}

const fmt = (ms: number) => `${ms.toFixed(0)} ms`;

function hkTransition(i: number): Transition {
  const state = i % 2 === 0 ? 'firing' : 'resolved';
  return {
    kind: 'transition',
    alert: 'codesign_keychain_failures',
    labels: { region: 'HK' },
    state,
    at: new Date(Date.UTC(2026, 11, 1) + i * 60_000).toISOString(),
    value: state === 'firing' ? 3 : 1,
    threshold: 2,
    severity: 'critical',
    dedupKey: 'signwatch/codesign_keychain_failures/region=HK',
    summary: `HK: keychain-class codesign failures (bench trial ${i})`,
    details: { hosts: ['mac-hk-03'], keychains: ['/k'], partitionIds: ['codesign:'], errorCodes: ['errSecInternalComponent'], correlationIds: [`bench-${i}`], eventIds: [] },
  };
}

function waitUntil<T>(what: string, get: () => T | undefined, timeoutMs = TIMEOUT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const tick = () => {
      const v = get();
      if (v !== undefined) return resolve(v);
      if (Date.now() > deadline) return reject(new Error(`bench console: timed out waiting for ${what}`));
      setTimeout(tick, 1);
    };
    tick();
  });
}

export async function run(): Promise<string> {
  const started = new Date();
  const load0 = loadavg();
  const kafka = testKafka(BROKERS, 'sw-bench-console');
  const id = randomUUID().slice(0, 8);
  const alertTopic = `sw-bench-console-alerts-${id}`;
  const baseTopic = `sw-bench-console-base-${id}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [alertTopic, baseTopic].map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })), waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();

  // baseline consumer: configured like the console's reader (own group, read committed)
  const baseArrivals = new Map<string, number>();
  const consumer = kafka.consumer({ groupId: `sw-bench-console-${id}`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic: baseTopic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      await Promise.resolve();
      baseArrivals.set(message.value?.toString() ?? '', Date.now());
    },
  });

  const state = new ConsoleState(defaultPolicy());
  const applied = new Map<number, number>();
  const telemetry = createTelemetry({ serviceName: 'signwatch-console-bench', host: '127.0.0.1', port: 0, serve: false });
  const reader = alertTopicReader({
    kafka: parseKafkaConnection({ brokers: BROKERS }, 'sw-bench-console'),
    topic: alertTopic,
    logger: silent,
    onTransition: (t) => {
      applied.set(Number(/trial (\d+)/.exec(t.summary)?.[1] ?? -1), Date.now());
      state.apply(t);
    },
  });
  const server = await startConsole({ state, telemetry, host: '127.0.0.1', port: 0 });
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const base: number[] = [];
  const tile: number[] = [];
  const toApply: number[] = [];
  const applyToTile: number[] = [];
  try {
    await reader.start();
    const page = await browser.newPage();
    await page.goto(`${server.url}/`, { waitUntil: 'load' });
    await page.waitForFunction(`document.body.dataset.live === 'true' && document.querySelector('[data-region="HK"] .state')?.textContent === 'OPEN'`, { timeout: TIMEOUT_MS });
    // stamp every change of the HK tile's word (the tiles are redrawn per snapshot: watch the container)
    await page.evaluate(`(() => {
      window.__hk = [];
      let last = document.querySelector('[data-region="HK"] .state').textContent;
      new MutationObserver(() => {
        const now = Date.now();
        const word = document.querySelector('[data-region="HK"] .state')?.textContent;
        if (word && word !== last) { last = word; window.__hk.push([word, now]); }
      }).observe(document.getElementById('tiles'), { childList: true, subtree: true, characterData: true });
    })()`);
    // warm-up: one of each, not counted
    for (let i = -2; i < TRIALS; i++) {
      const order = i % 2 === 0 ? ['base', 'tile'] : ['tile', 'base'];
      for (const kind of order) {
        if (kind === 'base') {
          const value = `base-${i}`;
          const t0 = Date.now();
          await producer.send({ topic: baseTopic, acks: -1, messages: [{ key: 'k', value }] });
          const t1 = await waitUntil('the baseline message', () => baseArrivals.get(value));
          if (i >= 0) base.push(t1 - t0);
        } else {
          const k = i + 2; // trial index on the topic: even → FROZEN, odd → OPEN
          const want = k % 2 === 0 ? 'FROZEN' : 'OPEN';
          const seen = (await page.evaluate('window.__hk.length')) as number;
          const t0 = Date.now();
          await producer.send({ topic: alertTopic, acks: -1, messages: [{ key: 'signwatch/codesign_keychain_failures/region=HK', value: JSON.stringify(hkTransition(k)) }] });
          await page.waitForFunction(`window.__hk.length > ${seen}`, { timeout: TIMEOUT_MS, polling: 'mutation' });
          const [word, at] = (await page.evaluate(`window.__hk[${seen}]`)) as [string, number];
          if (word !== want) throw new Error(`bench console: trial ${k}: the tile says ${word}, expected ${want}`);
          if (i >= 0) {
            tile.push(at - t0);
            const a = applied.get(k);
            if (a !== undefined) {
              toApply.push(a - t0);
              applyToTile.push(at - a);
            }
          }
        }
      }
    }
  } finally {
    await browser.close();
    await server.stop();
    await reader.stop();
    await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [alertTopic, baseTopic] }).catch(() => undefined);
    await admin.disconnect();
    await telemetry.stop();
  }
  const load1 = loadavg();
  const rows: [string, Stats][] = [
    ['baseline: produce → consume round trip (same broker, kafkajs, read committed)', stats(base)],
    ['**transition produced → Fleet tile changed in Chromium**', stats(tile)],
    ['  of which: produced → console applied it (its reader)', stats(toApply)],
    ['  of which: console applied → tile changed (SSE + render)', stats(applyToTile)],
  ];
  const b = stats(base);
  const t = stats(tile);
  const lines = [
    '## Console: transition on the alert topic → Fleet tile in headless Chromium (issue 21)',
    '',
    `${started.toISOString()} · node ${process.version} · ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} · load before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${load1.map((x) => x.toFixed(2)).join(' ')}`,
    '',
    `${TRIALS} trials of each, alternating (one baseline, one console trial, order swapped every round), after 2 warm-up rounds.`,
    '',
    '| path | n | p50 | p90 | p99 | max | mean |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(([name, s]) => `| ${name} | ${s.n} | ${fmt(s.p50)} | ${fmt(s.p90)} | ${fmt(s.p99)} | ${fmt(s.max)} | ${fmt(s.mean)} |`),
    '',
    `Ratio tile / baseline: p50 ${(t.p50 / b.p50).toFixed(2)}×, p99 ${(t.p99 / b.p99).toFixed(2)}×.`,
    '',
  ];
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${await run()}\n`);
}
