/**
 * Runs the real processor (`signwatch processor`, services/processor) as a child process on unique topics and a
 * unique consumer group, for the alerting end-to-end test and the time-to-page benchmark. Also produces wire
 * events to its events topic. stop() is idempotent: SIGTERM (then SIGKILL) the child it started, delete its topics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { Producer } from 'kafkajs';
import { pino } from 'pino';
import { createKafka } from '../../services/platform/kafka.js';
import { parseKafkaConnection } from '../../services/platform/kafka-connection.js';
import { ulid } from 'ulid';
import { freePort } from './prom-stack.js';

const MAIN = fileURLToPath(new URL('../../services/cli/main.js', import.meta.url));

export interface ProcessorProc {
  readonly topics: { events: string; alerts: string; hourly: string; dlq: string; fleet: string; state: string; fleetState: string };
  readonly metricsUrl: string;
  /** host:port of /metrics, for a Prometheus scrape target. */
  readonly metricsTarget: string;
  /** Produce wire events (JSON) keyed by region, acks=all. */
  produce(events: Record<string, unknown>[]): Promise<void>;
  log(): string;
  readonly pid: number;
  stop(): Promise<void>;
}

export function keychainFailure(region: string, ts: string, host = `mac-${region.toLowerCase()}-01`): Record<string, unknown> {
  return {
    v: 1,
    id: ulid(),
    ts,
    type: 'codesign',
    host,
    region,
    pool: 'signing',
    agent: '0.1.0',
    correlationId: `pipeline-${ulid()}`,
    tool: 'codesign',
    outcome: 'fail',
    durationMs: 850,
    exitCode: 1,
    keychain: '/Users/ci/Library/Keychains/signing.keychain-db',
    partitionIds: ['apple-tool:', 'apple:', 'codesign:'],
    invocationId: ulid(),
    error: { code: 'errSecInternalComponent', osStatus: -2070, class: 'keychain', message: 'errSecInternalComponent' },
  };
}

export function unlockOk(region: string, ts: string, durationMs = 120): Record<string, unknown> {
  return { v: 1, id: ulid(), ts, type: 'unlock', host: `mac-${region.toLowerCase()}-01`, region, pool: 'signing', agent: '0.1.0', outcome: 'ok', durationMs, keychain: '/Users/ci/Library/Keychains/signing.keychain-db' };
}

/**
 * `brokers`: where the test produces and cleans up (plaintext); `kafka`: the processor's own `kafka:` block when it
 * differs (a secured listener: TLS, SASL), default `{ brokers }`.
 */
export async function startProcessorProcess(o: { brokers: string[]; clock: 'wall' | 'event'; policyPath?: string; kafka?: Record<string, unknown>; /** Added to the child's environment (OTEL_* for the trace test). */ env?: NodeJS.ProcessEnv }): Promise<ProcessorProc> {
  const id = randomUUID().slice(0, 8);
  const topics = { events: `sw-e2e-events-${id}`, alerts: `sw-e2e-alerts-${id}`, hourly: `sw-e2e-hourly-${id}`, dlq: `sw-e2e-dlq-${id}`, fleet: `sw-e2e-fleet-${id}`, state: `sw-e2e-proc-${id}.state`, fleetState: `sw-e2e-proc-${id}.fleet.state` };
  const dir = mkdtempSync(join(tmpdir(), 'sw-proc-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'processor.yaml'),
    stringify({
      kafka: o.kafka ?? { brokers: o.brokers },
      topics: { events: { name: topics.events, partitions: 1 }, alerts: { name: topics.alerts }, hourly: { name: topics.hourly }, dlq: { name: topics.dlq }, fleet: { name: topics.fleet } },
      groupId: `sw-e2e-proc-${id}`,
      clock: o.clock,
      metrics: { port },
      log: { level: 'warn' },
      ...(o.policyPath ? { policy: o.policyPath } : {}),
    }),
  );
  const kafka = createKafka(parseKafkaConnection({ brokers: o.brokers }, `sw-e2e-${id}`), pino({ level: 'silent' }));
  let producer: Producer | undefined;
  const child: ChildProcess = spawn(process.execPath, [MAIN, 'processor', '--config', join(dir, 'processor.yaml')], { stdio: ['ignore', 'pipe', 'pipe'], ...(o.env ? { env: { ...process.env, ...o.env } } : {}) });
  let out = '';
  const keep = (c: Buffer) => {
    out = (out + c.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await producer?.disconnect().catch(() => undefined);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.deleteTopics({ topics: Object.values(topics) });
    } catch {
      // best effort
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`processor exited (${child.exitCode}): ${out.slice(-2000)}`);
      try {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) });
        if (r.ok) break;
      } catch {
        // not yet
      }
      if (Date.now() > deadline) throw new Error(`processor not ready within 60 s: ${out.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    producer = kafka.producer({ idempotent: true });
    await producer.connect();
  } catch (e) {
    await stop();
    throw e;
  }
  const p = producer;
  return {
    topics,
    metricsUrl: `http://127.0.0.1:${port}/metrics`,
    metricsTarget: `127.0.0.1:${port}`,
    async produce(events) {
      await p.send({ topic: topics.events, acks: -1, messages: events.map((e) => ({ key: String(e.region), value: JSON.stringify(e) })) });
    },
    log: () => out,
    pid: child.pid!,
    stop,
  };
}
