/**
 * What one checkpoint costs on the processor's event loop, at a history that fills every horizon (dedup of ids for
 * hourlyRetention, windows, hourly buckets): the region pipeline of one events partition is fed the simulated
 * history of its region (in process, no broker), then its state is saved and encoded as the processor does it
 * (PartitionPipeline.saveState() → encodeCheckpoint(): JSON, deflate, chunks; and encodeCheckpointAsync(), the
 * processor's: deflate and checksum on the thread pool — only its JSON.stringify is on the event loop), TRIALS times; and loaded back
 * (decodeCheckpoint() → loadState() into a fresh pipeline). Reports the checkpoint's size and the times (median, max).
 *
 *   node dist/bench/checkpoint-cost.js      (or BENCH_ONLY=checkpoint-cost npm run bench)
 *   BENCH_CHECKPOINT_EVENTS=1000000 (fleet-wide simulated events; the region's share goes in) BENCH_CHECKPOINT_TRIALS=7
 *   BENCH_CHECKPOINT_POLICY=FILE (default alerts/policy.yaml: its 48 h dedup horizon fills at 3.5 M events at 20/s)
 */
import { pathToFileURL } from 'node:url';
import os from 'node:os';
import { Writable } from 'node:stream';
import { loadPolicyFile } from '../services/engine/policy.js';
import { createLogger } from '../services/platform/logger.js';
import { createTelemetry } from '../services/platform/telemetry.js';
import { ProcessorMetrics } from '../services/processor/metrics.js';
import { createPipeline, type OutRecord, type PartitionPipeline } from '../services/processor/topology.js';
import { decodeCheckpointAsync, encodeCheckpoint, encodeCheckpointAsync, readCheckpointMeta } from '../services/processor/checkpoint.js';
import { simulate } from '../services/simulate/simulate.js';
import { regionKey } from '../test/integration/processor/harness.js';

const EVENTS = Number(process.env.BENCH_CHECKPOINT_EVENTS ?? 1_000_000);
const TRIALS = Number(process.env.BENCH_CHECKPOINT_TRIALS ?? 7);
const REGION = process.env.BENCH_CHECKPOINT_REGION ?? 'HK';
const START = Date.parse('2026-11-20T00:00:00.000Z');
const RATE = Number(process.env.BENCH_CHECKPOINT_RATE ?? 20);
/** The broker's default max.message.bytes (the state topic's unless configured). */
const MAX_RECORD = 1_048_588;

const silent = createLogger({ name: 'bench', level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

function pipeline(): PartitionPipeline {
  // the shipped policy (alerts/policy.yaml: hourlyRetention 48 h, the dedup horizon), as the processor runs it
  const policy = loadPolicyFile(process.env.BENCH_CHECKPOINT_POLICY);
  const telemetry = createTelemetry({ serviceName: 'bench', host: '127.0.0.1', port: 0, serve: false });
  const holder: { p?: PartitionPipeline } = {};
  const metrics = new ProcessorMetrics(telemetry, policy, () => holder.p?.snapshot() ?? []);
  return (holder.p = createPipeline({ policy, topics: { alerts: 'a', hourly: 'h', dlq: 'd' }, clock: 'event', clockDelay: 0, maxEventBytes: 65_536, metrics, log: silent, scope: 'region', fleet: { topic: 'f', types: new Set(['heartbeat']) } }));
}

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;

export async function run(): Promise<string> {
  const p = pipeline();
  const out: OutRecord[] = [];
  let fed = 0;
  let offset = 0;
  for (const line of simulate({ seed: 5, start: START, events: EVENTS, ratePerSecond: RATE })) {
    if (regionKey(line) !== REGION) continue;
    const ts = Date.parse((JSON.parse(line) as { ts: string }).ts);
    p.record({ topic: 'events', partition: 0, offset: String(offset++), timestamp: ts, key: Buffer.from(REGION), value: Buffer.from(line) }, false, out);
    out.length = 0;
    fed++;
  }
  const save: number[] = [];
  const encode: number[] = [];
  const asyncLoop: number[] = [];
  const asyncTotal: number[] = [];
  const load: number[] = [];
  let bytes = 0;
  let json = 0;
  let chunks = 0;
  let dedupIds = 0;
  for (let i = 0; i < TRIALS; i++) {
    const t0 = performance.now();
    const state = p.saveState();
    const t1 = performance.now();
    if (!state) throw new Error('no state (a damping deadline pending)');
    const recs = encodeCheckpoint(state, offset, MAX_RECORD);
    const t2 = performance.now();
    save.push(t1 - t0);
    encode.push(t2 - t1);
    // the processor's way: only what runs before the first await is on the event loop
    const a0 = performance.now();
    const pending = encodeCheckpointAsync(state, offset, MAX_RECORD);
    asyncLoop.push(performance.now() - a0);
    const same = await pending;
    asyncTotal.push(performance.now() - a0);
    if (same.length !== recs.length || same.some((r, k) => !r.value.equals(recs[k]!.value))) throw new Error('async encoding differs');
    bytes = recs.reduce((n, r) => n + r.value.length, 0);
    chunks = recs.length;
    json = JSON.stringify(state).length;
    const t3 = performance.now();
    const fresh = pipeline();
    const decoded = await decodeCheckpointAsync({ o: 0, n: recs.length, pos: offset }, recs.map((r) => ({ value: r.value, meta: readCheckpointMeta(r.headers)! })));
    fresh.loadState(decoded);
    load.push(performance.now() - t3);
    dedupIds = (JSON.stringify(decoded).match(/"[0-9A-HJKMNP-TV-Z]{26}"/g) ?? []).length;
    await new Promise((r) => setImmediate(r));
  }
  return [
    '## checkpoint cost (one events partition, its region\'s whole horizon)',
    '',
    `node ${process.version} · ${os.cpus().length} cores · load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} · ${EVENTS.toLocaleString('en')} simulated events at ${RATE}/s (event time), region ${REGION}: ${fed.toLocaleString('en')} records into the pipeline · ${TRIALS} trials (median, max)`,
    '',
    '| state JSON | checkpoint (deflated) | records | ids in it | saveState() (on the loop) | encodeCheckpoint(), sync: all on the loop | encodeCheckpointAsync(): on the loop | its total (deflate + SHA-256 on the thread pool) | decode (async) + loadState() |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${(json / 1e6).toFixed(2)} MB | ${(bytes / 1e6).toFixed(2)} MB | ${chunks} | ${dedupIds.toLocaleString('en')} | ${ms(med(save))} (max ${ms(Math.max(...save))}) | ${ms(med(encode))} (max ${ms(Math.max(...encode))}) | ${ms(med(asyncLoop))} (max ${ms(Math.max(...asyncLoop))}) | ${ms(med(asyncTotal))} (max ${ms(Math.max(...asyncTotal))}) | ${ms(med(load))} (max ${ms(Math.max(...load))}) |`,
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(await run());
}
