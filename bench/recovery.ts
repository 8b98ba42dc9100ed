/**
 * Processor recovery time against the local broker, per history size (events already in the topic):
 * a processor with checkpoints processes the history and stops; then new instances start on the same group and
 * topic, alternately WITHOUT checkpoints (`checkpoint.enabled: false`: today's rebuild from the log start) and WITH
 * them (load the latest checkpoint, re-read what follows). Measured per start, from spawning the process:
 *   - ready: /readyz answers 200 (joined, every partition rebuilt or restored);
 *   - first transition: a keychain incident produced right at spawn (3 failures, event time after the history)
 *     is readable as `firing` on the alert topic (read_committed).
 * Also from its log: joined the group → last partition live (assignment → ready, without process start-up).
 *
 *   node dist/bench/recovery.js       (or BENCH_ONLY=recovery npm run bench)
 *   BENCH_RECOVERY_EVENTS=250000,1000000 (history sizes: simulated events; the hosts' heartbeats come on top) BENCH_RECOVERY_TRIALS=2 (starts of each kind per size)
 */
import { pathToFileURL } from 'node:url';
import os from 'node:os';
import { ulid } from 'ulid';
import { simulate } from '../services/simulate/simulate.js';
import type { Transition } from '../services/engine/types.js';
import { World, until } from '../test/integration/processor/harness.js';

const SIZES = (process.env.BENCH_RECOVERY_EVENTS ?? '250000,1000000').split(',').map(Number);
const TRIALS = Number(process.env.BENCH_RECOVERY_TRIALS ?? 2);
const START = Date.parse('2026-11-20T00:00:00.000Z');
const RATE = 20;

function failure(ts: number): string {
  return JSON.stringify({
    v: 1, id: ulid(ts), ts: new Date(ts).toISOString(), type: 'codesign', host: 'mac-hk-01', region: 'HK', pool: 'signing', agent: 'bench',
    correlationId: `bench-${ts}`, tool: 'codesign', outcome: 'fail', durationMs: 300, exitCode: 1, keychain: '/Users/ci/Library/Keychains/signing.keychain-db',
    partitionIds: ['apple-tool:', 'apple:', 'codesign:'], invocationId: ulid(ts),
    error: { code: 'errSecInternalComponent', osStatus: -2070, class: 'keychain', message: 'errSecInternalComponent' },
  });
}

interface Start {
  kind: 'rebuild' | 'checkpoint';
  readyMs: number;
  firstMs: number;
  assignToLiveMs: number;
  reread: number;
}

/** joined consumer group → the last "state rebuilt; live" / "nothing to rebuild", from the start's own log lines. */
function assignToLive(log: string): { ms: number; reread: number } {
  const lines = log.split('\n').filter((l) => l.startsWith('{'));
  const t = (l: string) => Date.parse((JSON.parse(l) as { time: string }).time);
  const joined = lines.find((l) => l.includes('"msg":"joined consumer group"'));
  const live = lines.filter((l) => l.includes('"msg":"state rebuilt; live"') || l.includes('"msg":"partition assigned (nothing to rebuild)"'));
  const reread = lines.filter((l) => l.includes('"msg":"partition assigned')).reduce((n, l) => n + Number((JSON.parse(l) as { records?: number }).records ?? 0), 0);
  if (!joined || !live.length) return { ms: NaN, reread };
  return { ms: Math.max(...live.map(t)) - t(joined), reread };
}

async function one(w: World, kind: Start['kind'], name: string, eventTime: number, seen: Map<string, number>): Promise<Start> {
  (w.opts.extra!).checkpoint = kind === 'checkpoint' ? { interval: '5s' } : { enabled: false };
  const before = w.logs().length;
  const t0 = performance.now();
  const producing = w.produceLines([failure(eventTime), failure(eventTime + 1000), failure(eventTime + 2000)]);
  const proc = await w.startProcessor(name);
  await until('ready', async () => ((await fetch(`http://127.0.0.1:${proc.metricsPort}/readyz`)).ok ? true : undefined), 600_000, 20);
  const readyMs = performance.now() - t0;
  await producing;
  const key = new Date(eventTime + 2000).toISOString();
  await until('the first transition', () => Promise.resolve(seen.has(key) ? true : undefined), 600_000, 5);
  const firstMs = seen.get(key)! - t0;
  await w.waitCaughtUp(600_000);
  await proc.stop();
  const a = assignToLive(w.logs().slice(before));
  return { kind, readyMs, firstMs, assignToLiveMs: a.ms, reread: a.reread };
}

async function size(events: number): Promise<{ rows: string[]; starts: Start[] }> {
  let records = 0;
  const w = new World({ partitions: 6, clock: 'event', extra: { checkpoint: { interval: '5s' } } });
  try {
    await w.createEventsTopic();
    const lines = [...simulate({ seed: 5, start: START, events, ratePerSecond: RATE })];
    records = lines.length; // events + the hosts' heartbeats
    for (let i = 0; i < lines.length; i += 100_000) await w.produceLines(lines.slice(i, i + 100_000), 2000);
    const historyEnd = START + (events / RATE) * 1000;
    // the history, processed once with checkpoints (the last one at most 5 s of processing old)
    const p = await w.startProcessor('main');
    await w.waitCaughtUp(900_000);
    // a last trickle after the checkpoint interval, so every partition's latest checkpoint is near its end (live
    // traffic: checkpoints every interval, a few records behind)
    await new Promise((r) => setTimeout(r, 5500));
    await w.produceLines([...simulate({ seed: 6, start: historyEnd, events: 600, ratePerSecond: RATE })]);
    await w.waitCaughtUp(120_000);
    await p.stop();
    const seen = new Map<string, number>();
    const reader = w.kafka.consumer({ groupId: `${w.groupId}.bench-reader`, readUncommitted: false, maxWaitTimeInMs: 50 });
    await reader.connect();
    await reader.subscribe({ topic: w.topics.alerts, fromBeginning: false });
    await reader.run({
      eachMessage: async ({ message }) => {
        await Promise.resolve();
        const t = JSON.parse(message.value?.toString() ?? '{}') as Transition;
        if (t.state === 'firing' && t.alert === 'codesign_keychain_failures' && !seen.has(t.at)) seen.set(t.at, performance.now());
      },
    });
    await new Promise((r) => setTimeout(r, 1500)); // the reader's group join
    const starts: Start[] = [];
    let k = 0;
    for (let i = 0; i < TRIALS; i++) {
      for (const kind of ['rebuild', 'checkpoint'] as const) {
        starts.push(await one(w, kind, ['a', 'b'][k % 2]!, historyEnd + (++k + 1) * 3 * 3_600_000, seen));
      }
    }
    await reader.disconnect();
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
    const of = (kind: Start['kind']) => starts.filter((s) => s.kind === kind);
    const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const cell = (kind: Start['kind'], f: (s: Start) => number) => `${fmt(med(of(kind).map(f)))} (${of(kind).map((s) => fmt(f(s))).join(', ')})`;
    const rows = (['rebuild', 'checkpoint'] as const).map(
      (kind) =>
        `| ${records.toLocaleString('en')} (${events.toLocaleString('en')} events + heartbeats) | ${kind === 'rebuild' ? 'before: rebuild from the log start' : 'after: latest checkpoint + the records after it'} | ${cell(kind, (s) => s.assignToLiveMs)} | ${cell(kind, (s) => s.readyMs)} | ${cell(kind, (s) => s.firstMs)} | ${Math.round(med(of(kind).map((s) => s.reread))).toLocaleString('en')} |`,
    );
    return { rows, starts };
  } finally {
    await w.cleanup();
  }
}

export async function run(): Promise<string> {
  const rows: string[] = [];
  for (const n of SIZES) rows.push(...(await size(n)).rows);
  return [
    '## processor recovery (bounded recovery: checkpoints vs rebuild from the log)',
    '',
    `node ${process.version} · ${os.cpus().length} cores, broker on the same machine · load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} · 6 partitions, event clock, ${TRIALS} alternating starts of each kind per size (median, then each)`,
    '',
    '| history (records in the topic) | start | joined → every partition live | spawn → ready (/readyz) | spawn → first transition readable | records re-read |',
    '| ---: | --- | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(await run());
}
