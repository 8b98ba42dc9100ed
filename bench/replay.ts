/**
 * Replay throughput against its floor, in the same process and run:
 *   floor      = read lines + JSON.parse (the least any NDJSON consumer does)
 *   +validate  = floor + wire-contract validation (the fast path: schemas/event-check.ts)
 *   replay     = the full `signwatch replay` core (validate → dedup → windows → rules → hourly aggregates)
 * on 1 M simulated events (1 % duplicates, 0.5 % late, 0.05 % malformed), alternating runs, median of 3, in wall
 * time and in CPU time of the process (process.cpuUsage: what counts on a machine loaded by others).
 * Then memory: the engine fed 10 M events straight from the simulator, RSS sampled every million.
 */
import { createReadStream, existsSync, mkdirSync, createWriteStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { forEachLine } from '../services/platform/lines.js';
import { parseEventFast } from '../schemas/validate.js';
import { defaultPolicy } from '../services/engine/policy.js';
import { replay } from '../services/replay/replay.js';
import { simulate, demoIncidents } from '../services/simulate/simulate.js';
import { createEngine } from '../services/engine/engine.js';

const START = Date.parse('2026-11-20T00:00:00.000Z');
const N = Number(process.env.BENCH_REPLAY_EVENTS ?? 1_000_000);
const N_RSS = Number(process.env.BENCH_RSS_EVENTS ?? 10_000_000);

async function ensureFile(path: string): Promise<void> {
  if (existsSync(path)) return;
  const out = createWriteStream(path);
  let buf = '';
  for (const line of simulate({ start: START, events: N, seed: 1, incidents: demoIncidents(START), duplicateRate: 0.01, lateRate: 0.005, malformedRate: 0.0005, ratePerSecond: 20 })) {
    buf += line + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
      buf = '';
    }
  }
  await new Promise<void>((r) => out.end(buf, () => r()));
}

async function timeIt(fn: () => Promise<number>): Promise<{ ms: number; cpu: number; n: number }> {
  const t = process.hrtime.bigint();
  const c = process.cpuUsage();
  const n = await fn();
  const u = process.cpuUsage(c);
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, cpu: (u.user + u.system) / 1000, n };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<string> {
  const dir = join(process.cwd(), 'bench', 'data');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `replay-${N}.ndjson`);
  await ensureFile(file);
  const policy = defaultPolicy();
  const floor: number[] = [];
  const validate: number[] = [];
  const full: number[] = [];
  const cpu = { floor: [] as number[], validate: [] as number[], full: [] as number[] };
  let lines = 0;
  let transitions = 0;
  for (let i = 0; i < 3; i++) {
    const f = await timeIt(async () => {
      let n = 0;
      await forEachLine(createReadStream(file, { highWaterMark: 1 << 20 }), (l) => {
        n++;
        try {
          JSON.parse(l);
        } catch {
          /* counted as a line all the same */
        }
      });
      return n;
    });
    floor.push(f.ms);
    cpu.floor.push(f.cpu);
    lines = f.n;
    const v = await timeIt(async () => {
      let n = 0;
      await forEachLine(createReadStream(file, { highWaterMark: 1 << 20 }), (l) => {
        n++;
        parseEventFast(l);
      });
      return n;
    });
    validate.push(v.ms);
    cpu.validate.push(v.cpu);
    const r = await timeIt(async () => {
      const s = await replay(createReadStream(file, { highWaterMark: 1 << 20 }), { policy });
      transitions = s.transitions;
      return s.read;
    });
    full.push(r.ms);
    cpu.full.push(r.cpu);
  }
  const rate = (ms: number) => Math.round(lines / (ms / 1000)).toLocaleString('en-US');
  const fm = median(floor);
  const vm = median(validate);
  const rm = median(full);
  const [fc, vc, rc] = [median(cpu.floor), median(cpu.validate), median(cpu.full)];

  // memory: 10 M events through the engine, straight from the simulator (no file), RSS every million
  const gc = (globalThis as { gc?: () => void }).gc;
  const engine = createEngine(policy, { transition: () => undefined, hourly: () => undefined });
  const samples: string[] = [];
  let n = 0;
  const t0 = Date.now();
  for (const line of simulate({ start: START, events: N_RSS, seed: 2, incidents: demoIncidents(START), duplicateRate: 0.01, lateRate: 0.005, ratePerSecond: 20 })) {
    const r = parseEventFast(line);
    if (r.ok) engine.offer(r.event);
    if (++n % 1_000_000 === 0) {
      gc?.();
      const m = process.memoryUsage();
      samples.push(`| ${(n / 1e6).toFixed(0)} M | ${(m.rss / 2 ** 20).toFixed(0)} MiB | ${(m.heapUsed / 2 ** 20).toFixed(0)} MiB |`);
    }
  }
  const simSpan = ((n / 20) / 3600).toFixed(0);
  return [
    '## Replay throughput (issue 2)',
    '',
    `Input: ${lines.toLocaleString('en-US')} lines (${(statSync(file).size / 2 ** 20).toFixed(0)} MiB) from \`signwatch simulate\` (seed 1, demo incidents, 1 % duplicates, 0.5 % late, 0.05 % malformed); ${transitions} transitions. Median of 3 alternating runs, one process, one core.`,
    '',
    '| stage | time | events/s | × floor | CPU time | × floor, CPU |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    `| floor: read lines + JSON.parse | ${fm.toFixed(0)} ms | ${rate(fm)} | 1.00 | ${fc.toFixed(0)} ms | 1.00 |`,
    `| + validation (the fast path, schemas/event-check.ts) | ${vm.toFixed(0)} ms | ${rate(vm)} | ${(vm / fm).toFixed(2)} | ${vc.toFixed(0)} ms | ${(vc / fc).toFixed(2)} |`,
    `| replay core (validate, dedup, windows, rules, hourly sketches) | ${rm.toFixed(0)} ms | ${rate(rm)} | ${(rm / fm).toFixed(2)} | ${rc.toFixed(0)} ms | ${(rc / fc).toFixed(2)} |`,
    '',
    `Memory, engine fed ${(N_RSS / 1e6).toFixed(0)} M events (~${simSpan} h of event time at 20 events/s) straight from the simulator, after a forced GC (${((Date.now() - t0) / 1000).toFixed(0)} s):`,
    '',
    '| events | RSS | heap used |',
    '| ---: | ---: | ---: |',
    ...samples,
    '',
  ].join('\n');
}
