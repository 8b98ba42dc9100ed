/**
 * Tracing benchmarks (issue 20), against the local broker (`npm run kafka:start` first):
 *  1. processor throughput with tracing off (no OTLP endpoint: no span recorded, context still carried) and on +
 *     exporting (OTEL_EXPORTER_OTLP_ENDPOINT = a local OTLP/HTTP receiver: a batch span linking every event, the
 *     transition spans, all exported), same run, alternating, the same simulated stream with a `traceparent` in
 *     every event and in every record's headers (as the daemon ships them).
 *  2. time to page from spans: the real `agent exec` (fake codesign, recorded errSecInternalComponent) three times,
 *     the real daemon (`agent run`), processor and notifier processes, the fake PagerDuty; the page's trace, read
 *     back from the receiver, split into exec → spool → shipped → consumed → transition committed → notified.
 *
 *   node dist/bench/tracing.js          (or BENCH_ONLY=tracing npm run bench)
 *   BENCH_TRACING_EVENTS=100000 BENCH_TRACING_TRIALS=3 BENCH_TRACING_PAGES=5 (0: no time to page)
 *   BENCH_TRACING_EVENTS_PER_TRACE=1 BENCH_TRACING_CPU_PROF=DIR (a V8 CPU profile of each processor run)
 */
import { pathToFileURL, fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import os from 'node:os';
import { simulate, demoIncidents } from '../services/simulate/simulate.js';
import { startFakePagerDuty } from '../services/alerting/fake-pagerduty.js';
import { World, until, BROKERS } from '../test/integration/processor/harness.js';
import { startProcessorProcess } from '../test/harness/processor-proc.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../test/harness/otlp-receiver.js';
import { BIN, cli as agentCli, sandbox } from '../test/unit/agent/helpers.js';
import { stopChild } from '../test/harness/child.js';

const EVENTS = Number(process.env.BENCH_TRACING_EVENTS ?? 100_000);
const TRIALS = Number(process.env.BENCH_TRACING_TRIALS ?? 3);
/** Consecutive events in one trace (a CI job's calls); 1 (default): every event its own trace, the most links. */
const PER_TRACE = Math.max(1, Number(process.env.BENCH_TRACING_EVENTS_PER_TRACE ?? 1));
/** One region per page (a region pages once until it resolves): at most 5. */
const PAGES = Math.min(5, Number(process.env.BENCH_TRACING_PAGES ?? 5));
const START = Date.parse('2026-11-20T00:00:00.000Z');
const MAIN = fileURLToPath(new URL('../services/cli/main.js', import.meta.url));
const ROUTING_KEY = 'R0UTINGKEY00000000000000000000AA';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The stream as the daemon ships it: every event with its call's traceparent, every record with its ship span's. */
function tracedRecords(): { key: string; value: string; headers: { traceparent: string } }[] {
  const lines = [...simulate({ seed: 3, start: START, events: EVENTS, ratePerSecond: 20, incidents: demoIncidents(START) })];
  let traceId = hex(16);
  return lines.map((line, i) => {
    const ev = JSON.parse(line) as Record<string, unknown>;
    if (i % PER_TRACE === 0) traceId = hex(16);
    ev.traceparent = `00-${traceId}-${hex(8)}-01`;
    return { key: typeof ev.region === 'string' ? ev.region : 'unknown', value: JSON.stringify(ev), headers: { traceparent: `00-${traceId}-${hex(8)}-01` } };
  });
}

/** CPU time (user + system, ms) the process `pid` has used so far, from /proc/<pid>/stat (Linux). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the fields after the command name (which may hold spaces), from field 3 on: utime is field 14, stime 15
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}
const CLK_TCK = Number(process.env.BENCH_CLK_TCK ?? 100);

interface RunResult {
  /** events/s, ready → last commit (wall). */
  rate: number;
  /** The processor process's CPU ms per 1,000 events, ready → last commit and (tracing on) every span exported. */
  cpuPerK: number;
}

/**
 * One processor run over a fresh topic: the processor starts on it empty; once it is ready, `records` are produced
 * (2,000 per request, acks=all). Measured: the processor process's CPU time from ready until the last commit and,
 * tracing on, until the receiver holds every batch span of the run (the export is part of the cost; tracing off
 * waits as long as the exporter's schedule delay instead), and events/s (wall) from the first produce request to
 * the last commit, which the producer in this process shares the cores with.
 */
async function processorRun(records: ReturnType<typeof tracedRecords>, env: Record<string, string> | undefined, exported?: () => boolean): Promise<RunResult> {
  const w = new World({ partitions: 6, clock: 'event', extra: { commitInterval: 100 } });
  try {
    await w.createEventsTopic();
    const admin = await w.getAdmin();
    await w.getProducer();
    const saved = { ...process.env };
    if (env) Object.assign(process.env, env);
    // the child takes the environment at spawn
    const proc = await w.startProcessor('bench').finally(() => {
      for (const k of Object.keys(env ?? {})) if (saved[k] === undefined) delete process.env[k];
    });
    await until('ready', async () => ((await fetch(`http://127.0.0.1:${proc.metricsPort}/readyz`)).ok ? true : undefined), 30_000, 20);
    const pid = proc.child.pid!;
    const c0 = cpuMsOf(pid);
    const s0 = performance.now();
    for (let i = 0; i < records.length; i += 2000) await w.produceRaw(records.slice(i, i + 2000));
    const ends = await admin.fetchTopicOffsets(w.topics.events);
    await until(
      'the processor to commit every event',
      async () => {
        const c = await admin.fetchOffsets({ groupId: w.groupId, topics: [w.topics.events] });
        const committed = ends.reduce((sum, e) => sum + Math.max(0, Number(c[0]?.partitions.find((x) => x.partition === e.partition)?.offset ?? 0)), 0);
        return committed >= records.length ? true : undefined;
      },
      300_000,
      50,
    );
    const rate = records.length / ((performance.now() - s0) / 1000);
    // tracing on: the spans of the run's batches leave the process on the BatchSpanProcessor's schedule
    if (exported) await until('every batch span exported', () => Promise.resolve(exported() ? true : undefined), 120_000, 20);
    else await new Promise((r) => setTimeout(r, BSP_DELAY_MS));
    const cpuPerK = ((cpuMsOf(pid) - c0) * 1000) / records.length;
    await proc.stop(); // SIGTERM: the SDK flushes what it still holds
    return { rate, cpuPerK };
  } finally {
    await w.cleanup();
  }
}
/** The BatchSpanProcessor's schedule delay while on (OTEL_BSP_SCHEDULE_DELAY); off waits as long after its last commit. */
const BSP_DELAY_MS = 1000;

async function throughput(): Promise<{ rows: string[]; ratio: number; cpuRatio: number }> {
  const records = tracedRecords();
  const otlp = await startOtlpReceiver();
  // BENCH_TRACING_CPU_PROF=DIR: a V8 CPU profile of every processor run (DIR/off, DIR/on)
  const prof = (side: string): Record<string, string> =>
    process.env.BENCH_TRACING_CPU_PROF ? { NODE_OPTIONS: `--import=${fileURLToPath(new URL('./cpu-profile.js', import.meta.url))}`, SW_CPU_PROF_DIR: join(process.env.BENCH_TRACING_CPU_PROF, side) } : {};
  const on = { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: String(BSP_DELAY_MS), OTEL_METRIC_EXPORT_INTERVAL: '600000', ...prof('on') };
  const off = prof('off');
  const offRuns: RunResult[] = [];
  const onRuns: RunResult[] = [];
  // what the receiver holds (counted as spans arrive): batch spans, their links, the records they cover
  let seen = 0;
  let links = 0;
  let batches = 0;
  let covered = 0;
  const count = () => {
    for (; seen < otlp.spans.length; seen++) {
      const sp = otlp.spans[seen]!;
      if (sp.name !== 'processor.batch') continue;
      batches++;
      links += sp.links.length;
      covered += Number(sp.attributes['messaging.batch.message_count'] ?? 0);
    }
    return covered;
  };
  const distinct = new Set(records.map((r) => r.headers.traceparent.slice(3, 35))).size;
  const runOn = async () => {
    const before = count();
    onRuns.push(await processorRun(records, on, () => count() - before >= records.length));
  };
  const runOff = async () => {
    offRuns.push(await processorRun(records, Object.keys(off).length ? off : undefined));
  };
  try {
    // alternate off, on, on, off, …: drift of the machine's load hits both sides alike
    for (let i = 0; i < TRIALS; i++) {
      if (i % 2 === 0) {
        await runOff();
        await runOn();
      } else {
        await runOn();
        await runOff();
      }
    }
    count();
    const ratio = median(onRuns.map((r) => r.rate)) / median(offRuns.map((r) => r.rate));
    // CPU per event: on / off (>1 = tracing costs); the throughput it allows is its inverse
    const cpuRatio = median(offRuns.map((r) => r.cpuPerK)) / median(onRuns.map((r) => r.cpuPerK));
    const fmt = (xs: number[], d = 0) => xs.map((x) => x.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d })).join(' · ');
    const row = (label: string, rs: RunResult[], rel: number, relCpu: number) =>
      `| ${label} | ${fmt(rs.map((r) => r.cpuPerK), 1)} | **${median(rs.map((r) => r.cpuPerK)).toFixed(1)} ms** | **${relCpu.toFixed(2)}** | ${fmt(rs.map((r) => r.rate))} | ${Math.round(median(rs.map((r) => r.rate))).toLocaleString('en')} events/s | ${rel.toFixed(2)} |`;
    return {
      ratio,
      cpuRatio,
      rows: [
        '| processor | CPU ms / 1,000 events, runs | median | throughput by CPU (off = 1) | wall events/s, runs | median | wall relative |',
        '| --- | --- | ---: | ---: | --- | ---: | ---: |',
        row('tracing off (no OTLP endpoint)', offRuns, 1, 1),
        row('tracing on + exporting (OTLP/HTTP to a local receiver)', onRuns, ratio, cpuRatio),
        '',
        `Exported while on: ${batches.toLocaleString('en')} processor.batch spans carrying ${links.toLocaleString('en')} links (${TRIALS} runs × ${records.length.toLocaleString('en')} events in ${distinct.toLocaleString('en')} traces).`,
      ],
    };
  } finally {
    await otlp.close();
  }
}

interface Breakdown {
  exec: number;
  spool: number;
  shipped: number;
  consumed: number;
  committed: number;
  notified: number;
  total: number;
}

/** The hops of one page's trace, from its spans (all on this machine's clock). */
function breakdown(spans: readonly ReceivedSpan[], traceId: string): Breakdown {
  const t = spans.filter((s) => s.traceId === traceId);
  const one = (name: string) => {
    const s = t.find((x) => x.name === name);
    if (!s) throw new Error(`trace ${traceId}: no ${name} span`);
    return s;
  };
  const exec = one('agent.exec codesign');
  const spool = one('agent.spool');
  const ship = one('agent.ship');
  const transition = one('processor.transition');
  const notify = one('notifier.pagerduty');
  // consumed = the batch span that links this event's ship span starts
  const batch = spans.find((s) => s.name === 'processor.batch' && s.links.some((l) => l.spanId === ship.spanId));
  if (!batch) throw new Error(`trace ${traceId}: no batch span links the ship span`);
  return {
    exec: exec.endMs - exec.startMs,
    spool: spool.endMs - spool.startMs,
    shipped: ship.endMs - ship.startMs,
    consumed: batch.startMs - ship.endMs,
    committed: transition.endMs - batch.startMs,
    notified: notify.endMs - transition.endMs,
    total: notify.endMs - exec.startMs,
  };
}

async function timeToPage(): Promise<{ rows: string[] }> {
  const otlp: OtlpReceiver = await startOtlpReceiver();
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_METRIC_EXPORT_INTERVAL: '600000' };
  const pd = await startFakePagerDuty();
  const dir = mkdtempSync(join(tmpdir(), 'sw-bench-trace-'));
  const children: ChildProcess[] = [];
  const proc = await startProcessorProcess({ brokers: BROKERS, clock: 'event', env: otel });
  const results: Breakdown[] = [];
  try {
    children.push(
      spawn(process.execPath, [MAIN, 'alerts', 'notify', '--metrics-port', '0', '--brokers', BROKERS.join(','), '--topic', proc.topics.alerts, '--group', `${proc.topics.alerts}-n`, '--outbox', join(dir, 'outbox.sqlite'), '--pagerduty-url', pd.eventsUrl], {
        env: { ...process.env, ...otel, SIGNWATCH_PD_ROUTING_KEY: ROUTING_KEY },
        stdio: 'ignore',
      }),
    );
    const regions = ['HK', 'JP', 'KR', 'SG', 'US'];
    for (let k = 0; k < PAGES; k++) {
      // one region per page (a region pages once per hour of event time); one daemon per host, shipping every 100 ms
      const region = regions[k % regions.length]!;
      const sb = sandbox();
      writeFileSync(sb.config, JSON.stringify({ region, host: `mini-${region.toLowerCase()}-${k}`, dataDir: sb.dataDir, kafka: { brokers: BROKERS, topic: proc.topics.events }, intervals: { shipMs: 100, heartbeatSec: 3600, scanSec: 3600, clockSec: 3600 } }));
      const daemon = spawn(process.execPath, [BIN, 'agent', 'run'], { env: { ...sb.env, ...otel }, stdio: 'ignore' });
      try {
        let last = '';
        for (let i = 0; i < 3; i++) {
          last = hex(16);
          agentCli(['agent', 'exec', '--', 'codesign', '-s', 'X', 'a.app'], { ...sb.env, FAKE_CODESIGN: 'codesign-errSecInternalComponent__replacing-existing', TRACEPARENT: `00-${last}-${hex(8)}-01` });
        }
        const dedupKey = `signwatch/codesign_keychain_failures/region=${region}`;
        await pd.waitFor((f) => f.events.some((e) => e.body.dedup_key === dedupKey && e.body.event_action === 'trigger'), 60_000);
        await otlp.waitFor((s) => ['agent.exec codesign', 'agent.spool', 'agent.ship', 'processor.transition', 'notifier.pagerduty'].every((n) => s.some((x) => x.traceId === last && x.name === n)), 60_000, `page ${k} spans`);
        await otlp.waitFor((s) => s.some((x) => x.name === 'processor.batch' && x.links.some((l) => l.traceId === last)), 60_000, `page ${k} batch span`);
        if (k > 0) results.push(breakdown(otlp.spans, last)); // the first page warms up producers and fetch sessions
      } finally {
        await stopChild(daemon);
        sb.cleanup();
      }
    }
  } finally {
    for (const c of children) await stopChild(c);
    await proc.stop();
    await pd.close();
    await otlp.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const hop = (k: keyof Breakdown, label: string, what: string) => `| ${label} | ${what} | **${median(results.map((r) => r[k])).toFixed(0)} ms** | ${results.map((r) => r[k].toFixed(0)).join(' · ')} |`;
  return {
    rows: [
      hop('exec', 'exec', '`agent.exec codesign`: the wrapped codesign call (fake codesign replaying a recorded failure)'),
      hop('spool', 'spool', '`agent.spool`: event built → fsync’d spool append → read by the daemon’s ship loop (shipMs 100)'),
      hop('shipped', 'shipped', '`agent.ship`: produce request until acks=all'),
      hop('consumed', 'consumed', 'broker acknowledged → the processor’s `processor.batch` (linking it) starts'),
      hop('committed', 'transition committed', 'batch start → `processor.transition` ends (Kafka transaction committed)'),
      hop('notified', 'notified', 'committed → `notifier.pagerduty` ends (alert topic read, outbox fsync, PagerDuty POST answered)'),
      hop('total', '**total**', 'exec start → PagerDuty answered'),
    ],
  };
}

export async function run(): Promise<string> {
  const t = await throughput();
  const p = process.env.BENCH_TRACING_PAGES === '0' ? { rows: ['| (skipped: BENCH_TRACING_PAGES=0) | | | |'] } : await timeToPage();
  return [
    '## tracing (OpenTelemetry SDK, issue 20)',
    '',
    `node ${process.version} · ${os.cpus().length} cores, broker on the same machine · load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    '',
    `Processor throughput, ${EVENTS.toLocaleString('en')} traced events, 6 partitions, event-time clock, ${TRIALS} alternating runs each (CPU: the processor process's user + system time, /proc/<pid>/stat, ready → last commit and every batch span exported):`,
    '',
    ...t.rows,
    '',
    `Target: tracing on within 10 % of off: by CPU ${t.cpuRatio >= 0.9 ? 'met' : 'NOT met'} (${t.cpuRatio.toFixed(2)}), by wall ${t.ratio >= 0.9 ? 'met' : 'NOT met'} (${t.ratio.toFixed(2)}).`,
    '',
    `Time to page from the page's own spans (median of ${PAGES - 1} pages after one warm-up; each page: 3 real \`agent exec\` calls in one region):`,
    '',
    '| hop | span(s) | median | each page |',
    '| --- | --- | ---: | --- |',
    ...p.rows,
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(await run());
}
