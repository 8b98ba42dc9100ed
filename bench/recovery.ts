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
 * The history is keyed NDJSON from the simulator, written by child processes and produced with `kcat -P` (lz4,
 * murmur2 partitioner, acks=1: the fill only); one topic grows stage by stage to each size, each stage processed
 * once by BENCH_RECOVERY_FILL_INSTANCES checkpointing processes before its restarts.
 *
 *   node dist/bench/recovery.js       (or BENCH_ONLY=recovery npm run bench)
 *   BENCH_RECOVERY_EVENTS=100000,1000000 (cumulative history sizes: simulated events; the hosts' heartbeats come on top)
 *   BENCH_RECOVERY_TRIALS=2 (checkpoint starts per size) BENCH_RECOVERY_REBUILD_TRIALS=2 (rebuild starts, alternating)
 *   BENCH_RECOVERY_REBUILD_UP_TO=1000000 (no rebuild starts above) BENCH_RECOVERY_FILL_INSTANCES=3
 *   BENCH_RECOVERY_GEN_JOBS=3 BENCH_RECOVERY_PART_EVENTS=1500000 (generator processes, events per part)
 *   BENCH_RECOVERY_KEEP=1 (keep the topics and groups; the world id is printed), BENCH_RECOVERY_REUSE=<id> (only the
 *   restarts of a kept world, with the same BENCH_RECOVERY_EVENTS: a quiet re-measure without the fill)
 *   BENCH_RECOVERY_LOGS=<dir> (each start's processor log there, for where its time went)
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { ulid } from 'ulid';
import type { Consumer } from 'kafkajs';
import { simulate } from '../services/simulate/simulate.js';
import type { Transition } from '../services/engine/types.js';
import { World, regionKey, until } from '../test/integration/processor/harness.js';

const SIZES = (process.env.BENCH_RECOVERY_EVENTS ?? '100000,1000000').split(',').map(Number);
const TRIALS = Number(process.env.BENCH_RECOVERY_TRIALS ?? 2);
/** Larger histories are measured with checkpoints only (a rebuild from the log is linear in the history: extrapolate). */
const REBUILD_UP_TO = Number(process.env.BENCH_RECOVERY_REBUILD_UP_TO ?? 1_000_000);
/** Rebuild starts per size (the first trials; the others are checkpoint starts only). */
const REBUILD_TRIALS = Number(process.env.BENCH_RECOVERY_REBUILD_TRIALS ?? TRIALS);
/** Processes sharing the first processing of each stage's new history. */
const FILL_INSTANCES = Number(process.env.BENCH_RECOVERY_FILL_INSTANCES ?? 3);
/** Keep the topics and groups at the end (BENCH_RECOVERY_KEEP=1), or re-measure the restarts of a kept world (its id). */
const KEEP = process.env.BENCH_RECOVERY_KEEP === '1';
const REUSE = process.env.BENCH_RECOVERY_REUSE;
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
  // a loaded machine can reset a connection to a process that is starting: not ready yet
  await until('ready', async () => ((await fetch(`http://127.0.0.1:${proc.metricsPort}/readyz`).catch(() => undefined))?.ok ? true : undefined), 600_000, 20);
  const readyMs = performance.now() - t0;
  await producing;
  const key = new Date(eventTime + 2000).toISOString();
  await until('the first transition', () => Promise.resolve(seen.has(key) ? true : undefined), 600_000, 5);
  const firstMs = seen.get(key)! - t0;
  await w.waitCaughtUp(600_000);
  await proc.stop();
  const a = assignToLive(w.logs().slice(before));
  if (process.env.BENCH_RECOVERY_LOGS) writeFileSync(join(process.env.BENCH_RECOVERY_LOGS, `start-${Date.now()}-${kind}.log`), w.logs().slice(before));
  return { kind, readyMs, firstMs, assignToLiveMs: a.ms, reread: a.reread };
}

/** Write the lines of `gen` as `key<TAB>value` NDJSON (keyed by region, as the agents' shippers key them); returns the count. */
async function writeKeyed(path: string, gen: Iterable<string>): Promise<number> {
  const out = createWriteStream(path);
  let n = 0;
  let buf: string[] = [];
  const flush = async () => {
    if (!out.write(buf.join(''))) await once(out, 'drain');
    buf = [];
  };
  for (const line of gen) {
    buf.push(`${regionKey(line)}\t${line}\n`);
    n++;
    if (buf.length >= 10_000) await flush();
  }
  await flush();
  out.end();
  await once(out, 'finish');
  return n;
}

/**
 * Produce a keyed NDJSON file with kcat (librdkafka: lz4, big batches, acks=1 — the fill only; the processor's own
 * writes are transactional as ever), partitioned by murmur2 like kafkajs' default partitioner (and the Java
 * client's), so that a region's history and the incident the bench produces through kafkajs share a partition.
 */
async function kcatProduce(brokers: string[], topic: string, path: string): Promise<void> {
  const args = ['-P', '-b', brokers.join(','), '-t', topic, '-K', '\t', '-z', 'lz4', '-l',
    '-X', 'partitioner=murmur2_random', '-X', 'acks=1', '-X', 'linger.ms=50', '-X', 'batch.size=4000000', '-X', 'batch.num.messages=100000',
    '-X', 'queue.buffering.max.kbytes=1048576', '-X', 'message.max.bytes=4000000', path];
  const child = spawn('kcat', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`kcat -P exited ${code}: ${err.slice(-2000)}`);
}

/** The latest `ts` among the last record of every partition of `topic` (kcat -o -1). */
async function latestEventTime(brokers: string[], topic: string): Promise<number> {
  const child = spawn('kcat', ['-C', '-b', brokers.join(','), '-t', topic, '-o', '-1', '-e', '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`kcat -C -o -1 exited ${code}: ${err.slice(-2000)}`);
  const times = out.split('\n').filter(Boolean).map((l) => Date.parse((JSON.parse(l) as { ts: string }).ts));
  if (!times.length || times.some(Number.isNaN)) throw new Error(`no event time in the last records of ${topic}`);
  return Math.max(...times);
}

/** One part of the history: `events` simulated events from `start` (event time), with their own seed. */
interface Part {
  stage: number;
  seed: number;
  start: number;
  events: number;
  file: string;
}

/** Parts of at most this many events: generated in parallel child processes (the generator is single-threaded). */
const PART_EVENTS = Number(process.env.BENCH_RECOVERY_PART_EVENTS ?? 1_500_000);
/** Event time between stages: room for the trickle and the trials' incidents (3 h apart) before the next stage. */
const STAGE_GAP = 86_400_000;

function plan(sizes: number[], dir: string): Part[] {
  const parts: Part[] = [];
  let have = 0;
  let at = START;
  for (const [si, events] of sizes.entries()) {
    for (let left = events - have; left > 0; ) {
      const n = Math.min(PART_EVENTS, left);
      parts.push({ stage: si, seed: 5 + parts.length, start: at, events: n, file: join(dir, `history-${parts.length}.ndjson`) });
      at += (n / RATE) * 1000;
      left -= n;
    }
    have = events;
    at += STAGE_GAP;
  }
  return parts;
}

/** `node recovery.js --generate <file> <seed> <start> <events>`: one part's keyed NDJSON (a child of the bench). */
async function generateChild(argv: string[]): Promise<void> {
  const [file, seed, start, events] = argv;
  const n = await writeKeyed(file!, simulate({ seed: Number(seed), start: Number(start), events: Number(events), ratePerSecond: RATE }));
  process.stdout.write(`${n}\n`);
}

/** Generate every part, GEN_JOBS child processes at a time; resolves with each part's record count, in order. */
function generateAll(parts: Part[]): Promise<number>[] {
  const jobs = Number(process.env.BENCH_RECOVERY_GEN_JOBS ?? 3);
  const out: Promise<number>[] = [];
  const slots: Promise<unknown>[] = [];
  for (const [i, part] of parts.entries()) {
    const prev = i >= jobs ? slots[i - jobs]! : Promise.resolve();
    const p = prev.then(async () => {
      const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--generate', part.file, String(part.seed), String(part.start), String(part.events)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      const [code] = (await once(child, 'exit')) as [number | null];
      if (code !== 0) throw new Error(`generating ${part.file}: exit ${code}`);
      return Number(text.trim());
    });
    slots.push(p.catch(() => undefined));
    out.push(p);
  }
  return out;
}

interface Stage {
  records: number;
  events: number;
  fillS: number;
  processS: number;
  starts: Start[];
}

/** For (time): the bench's own progress on stderr. */
const say = (what: string) => process.stderr.write(`recovery: ${new Date().toISOString()} ${what}\n`);

/**
 * One topic grown stage by stage to each history size (cumulative simulated events): each stage appends the next
 * part of the history (its own seed, a day after the previous stage's last incident), lets the checkpointing
 * processor process it, then measures restarts.
 */
async function curve(sizes: number[]): Promise<Stage[]> {
  const w = new World({ partitions: 6, clock: 'event', extra: { checkpoint: { interval: '5s' } }, ...(REUSE ? { id: REUSE } : {}) });
  const stages: Stage[] = [];
  const dir = mkdtempSync(join(os.tmpdir(), 'sw-recovery-'));
  const seen = new Map<string, number>();
  let reader: Consumer | undefined;
  const startReader = async () => {
    reader = w.kafka.consumer({ groupId: `${w.groupId}.bench-reader`, readUncommitted: false, maxWaitTimeInMs: 50 });
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
  };
  let k = 0;
  /** The starts of one stage, alternating rebuild and checkpoint (checkpoint only above REBUILD_UP_TO). */
  const restarts = async (si: number, events: number, at: number): Promise<{ starts: Start[]; at: number }> => {
    const starts: Start[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const kinds = events > REBUILD_UP_TO || i >= REBUILD_TRIALS ? (['checkpoint'] as const) : (['rebuild', 'checkpoint'] as const);
      for (const kind of kinds) {
        at += 3 * 3_600_000;
        const s = await one(w, kind, ['a', 'b'][k++ % 2]!, at, seen);
        say(`stage ${si}: ${kind}: ready ${(s.readyMs / 1000).toFixed(2)} s, first transition ${(s.firstMs / 1000).toFixed(2)} s, joined → live ${(s.assignToLiveMs / 1000).toFixed(2)} s, re-read ${s.reread}`);
        starts.push(s);
      }
    }
    return { starts, at };
  };
  try {
    if (REUSE) {
      // a kept history (BENCH_RECOVERY_KEEP=1 of an earlier run): its restarts only, a stage gap after the latest
      // event in the topic (the incidents of earlier restarts included: an alert still firing would not fire again)
      const events = sizes[sizes.length - 1]!;
      const latest = await latestEventTime(w.brokers, w.topics.events);
      const ends = await (await w.getAdmin()).fetchTopicOffsets(w.topics.events);
      const records = ends.reduce((n, e) => n + Number(e.high), 0);
      say(`reusing ${w.topics.events}: ${records} records; restarts`);
      await startReader();
      const r = await restarts(sizes.length - 1, events, latest + STAGE_GAP);
      stages.push({ records, events, fillS: NaN, processS: NaN, starts: r.starts });
      return stages;
    }
    await w.createEventsTopic();
    say(`topics ${w.topics.events} (group ${w.groupId})`);
    const parts = plan(sizes, dir);
    const counts = generateAll(parts);
    for (const c of counts) c.catch(() => {}); // awaited in order below; an early failure must not be unhandled
    let records = 0;
    for (const [si, events] of sizes.entries()) {
      const f0 = performance.now();
      const mine = parts.map((p, i) => ({ p, i })).filter(({ p }) => p.stage === si);
      let n = 0;
      for (const { p, i } of mine) {
        n += await counts[i]!;
        await kcatProduce(w.brokers, w.topics.events, p.file);
        rmSync(p.file, { force: true });
      }
      const fillS = (performance.now() - f0) / 1000;
      const last = mine[mine.length - 1]!.p;
      let at = last.start + (last.events / RATE) * 1000;
      records += n;
      say(`stage ${si}: ${records} records in the topic (+${n}; fill ${fillS.toFixed(0)} s, generation in parallel); processing with checkpoints`);
      // the new history, processed once with checkpoints (the last one at most 5 s of processing old), by
      // FILL_INSTANCES processes of the group sharing the partitions
      (w.opts.extra!).checkpoint = { interval: '5s' };
      const p0 = performance.now();
      const procs = [];
      for (let i = 0; i < FILL_INSTANCES; i++) procs.push(await w.startProcessor(`p${i}`));
      await w.waitCaughtUp(4 * 3_600_000);
      const processS = (performance.now() - p0) / 1000;
      // a last trickle after the checkpoint interval, so every partition's latest checkpoint is near its end (live
      // traffic: checkpoints every interval, a few records behind)
      await new Promise((r) => setTimeout(r, 5500));
      const trickle = [...simulate({ seed: 1000 + si, start: at, events: 600, ratePerSecond: RATE })];
      await w.produceLines(trickle);
      records += trickle.length;
      at += (600 / RATE) * 1000;
      await w.waitCaughtUp(600_000);
      for (const p of procs) await p.stop();
      say(`stage ${si}: processed in ${processS.toFixed(0)} s; restarts`);
      if (!reader) await startReader();
      const r = await restarts(si, events, at);
      records += 3 * r.starts.length;
      stages.push({ records, events, fillS, processS, starts: r.starts });
    }
    return stages;
  } finally {
    await reader?.disconnect();
    rmSync(dir, { recursive: true, force: true });
    if (KEEP || REUSE) say(`kept: topics and groups of world ${w.id} (re-measure with BENCH_RECOVERY_REUSE=${w.id}; delete the itp-${w.id}.* topics when done)`);
    else await w.cleanup();
  }
}

export async function run(): Promise<string> {
  const load0 = os.loadavg();
  const stages = await curve(SIZES);
  const load1 = os.loadavg();
  const med = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]! : NaN);
  const fmt = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : '—');
  const rows: string[] = [];
  for (const st of stages) {
    for (const kind of ['rebuild', 'checkpoint'] as const) {
      const of = st.starts.filter((s) => s.kind === kind);
      const cell = (f: (s: Start) => number) => (of.length ? `${fmt(med(of.map(f)))} (${of.map((s) => fmt(f(s))).join(', ')})` : 'not run');
      rows.push(
        `| ${st.records.toLocaleString('en')} (${st.events.toLocaleString('en')} events + heartbeats) | ${kind === 'rebuild' ? 'before: rebuild from the log start' : 'after: latest checkpoint + the records after it'} | ${cell((s) => s.assignToLiveMs)} | ${cell((s) => s.readyMs)} | ${cell((s) => s.firstMs)} | ${of.length ? Math.round(med(of.map((s) => s.reread))).toLocaleString('en') : '—'} |`,
      );
    }
  }
  return [
    '## processor recovery (bounded recovery: checkpoints vs rebuild from the log)',
    '',
    `node ${process.version} · ${os.cpus().length} cores, broker on the same machine · load at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${load1.map((x) => x.toFixed(2)).join(' ')} · 6 partitions, event clock, ${TRIALS} alternating starts of each kind per size (median, then each); rebuilds only up to ${REBUILD_UP_TO.toLocaleString('en')} events`,
    '',
    '| history (records in the topic) | start | joined → every partition live | spawn → ready (/readyz) | spawn → first transition readable | records re-read |',
    '| ---: | --- | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    '| history | fill (generate NDJSON + kcat -P) | first processing, with checkpoints |',
    '| ---: | ---: | ---: |',
    ...stages.map((s) => `| ${s.events.toLocaleString('en')} events | ${Number.isNaN(s.fillS) ? 'kept from an earlier run' : `${s.fillS.toFixed(0)} s`} | ${Number.isNaN(s.processS) ? 'kept from an earlier run' : `${s.processS.toFixed(0)} s`} |`),
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === '--generate') await generateChild(process.argv.slice(3));
  else {
    process.stdout.write(await run());
    // a kept world's clients are not closed by cleanup(): exit rather than wait on their sockets
    if (KEEP || REUSE) process.exit(0);
  }
}
