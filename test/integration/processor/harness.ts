/**
 * Test harness for the processor against a real broker: unique topics and group per test, the processor as a child
 * process (so it can be kill -9'ed), a producer keyed by region, a read_committed reader that drains a topic to
 * its end, and the reference output from the same engine `signwatch replay` runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import kafkajs, { type Admin, type IHeaders, type Producer } from 'kafkajs';
import { stringify } from 'yaml';
import { defaultPolicy } from '../../../services/engine/policy.js';
import { replay } from '../../../services/replay/replay.js';
import { simulate, demoIncidents } from '../../../services/simulate/simulate.js';
import assert from 'node:assert/strict';
import type { HourlyAggregate, Transition } from '../../../services/engine/types.js';

const { Kafka, logLevel, Partitioners } = kafkajs;
export const BROKERS = (process.env.SIGNWATCH_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
export const INTEGRATION = process.env.SIGNWATCH_INTEGRATION === '1';
const MAIN = fileURLToPath(new URL('../../../services/cli/main.js', import.meta.url));

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface Topics {
  events: string;
  dlq: string;
  alerts: string;
  fleet: string;
  hourly: string;
  /** The processor's checkpoints (its default name: `<groupId>.state`) and its fleet processor's. */
  state: string;
  fleetState: string;
}

export interface ProcInstance {
  readonly child: ChildProcess;
  readonly metricsPort: number;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** One test's world: topics, group, temp dir, clients; cleanup() deletes everything it created. */
export class World {
  readonly id: string;
  readonly topics: Topics;
  readonly groupId: string;
  readonly dir = mkdtempSync(join(tmpdir(), 'sw-proc-it-'));
  readonly kafka: InstanceType<typeof Kafka>;
  private admin?: Admin;
  private producer?: Producer;
  private readonly procs: ProcInstance[] = [];
  private nextPort = 0;

  constructor(
    readonly opts: { partitions: number; clock: 'wall' | 'event'; brokers?: string[]; extra?: Record<string, unknown>; id?: string } = { partitions: 3, clock: 'event' },
  ) {
    // a given id adopts the topics and group of an earlier world (a benchmark re-measuring a kept history)
    this.id = opts.id ?? randomUUID().slice(0, 8);
    const p = `itp-${this.id}`;
    this.groupId = `${p}.processor`;
    this.topics = { events: `${p}.events`, dlq: `${p}.dlq`, alerts: `${p}.alerts`, hourly: `${p}.hourly`, fleet: `${p}.fleet`, state: `${this.groupId}.state`, fleetState: `${this.groupId}.fleet.state` };
    this.kafka = new Kafka({ clientId: `it-${this.id}`, brokers: this.brokers, logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 200, maxRetryTime: 2000 } });
  }

  get brokers(): string[] {
    return this.opts.brokers ?? BROKERS;
  }

  async getAdmin(): Promise<Admin> {
    if (!this.admin) {
      this.admin = this.kafka.admin();
      await this.admin.connect();
    }
    return this.admin;
  }

  /** Create the events topic up front (the processor would create it too) so producing can start first. */
  async createEventsTopic(): Promise<void> {
    const admin = await this.getAdmin();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: this.topics.events, numPartitions: this.opts.partitions, configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] }],
    });
  }

  private sessionTimeoutMs?: number;

  /** 2 s, or the broker's group.min.session.timeout.ms when that is higher (a broker not started by scripts/kafka.sh). */
  async sessionTimeout(): Promise<number> {
    if (this.sessionTimeoutMs === undefined) {
      let min = 6000;
      try {
        const admin = await this.getAdmin();
        const cluster = await admin.describeCluster();
        const r = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: kafkajs.ConfigResourceTypes.BROKER, name: String(cluster.brokers[0]!.nodeId), configNames: ['group.min.session.timeout.ms'] }],
        });
        const v = r.resources[0]?.configEntries.find((e) => e.configName === 'group.min.session.timeout.ms')?.configValue;
        if (v) min = Number(v);
      } catch {
        /* keep the default minimum */
      }
      this.sessionTimeoutMs = Math.max(2000, min);
    }
    return this.sessionTimeoutMs;
  }

  writeConfig(name: string): string {
    const path = join(this.dir, `${name}.yaml`);
    writeFileSync(
      path,
      stringify({
        kafka: { brokers: this.brokers, clientId: `it-${this.id}-${name}` },
        topics: {
          events: { name: this.topics.events, partitions: this.opts.partitions },
          dlq: { name: this.topics.dlq },
          alerts: { name: this.topics.alerts },
          hourly: { name: this.topics.hourly },
          fleet: { name: this.topics.fleet },
        },
        groupId: this.groupId,
        clock: this.opts.clock,
        rebuildFrom: 'earliest',
        commitInterval: 200,
        consumer: { sessionTimeout: this.sessionTimeoutMs ?? 6000, heartbeatInterval: 300, rebalanceTimeout: 5000, maxWaitTime: 100 },
        metrics: { port: 0 },
        log: { level: 'info' },
        ...this.opts.extra,
      }),
    );
    return path;
  }

  /** Start one processor process; resolves once /readyz says ready. */
  async startProcessor(name = `p${this.procs.length}`): Promise<ProcInstance> {
    await this.sessionTimeout();
    const cfg = this.writeConfig(name);
    const logPath = join(this.dir, `${name}.${++this.nextPort}.log`);
    const fd = openSync(logPath, 'a');
    const child = spawn(process.execPath, [MAIN, 'processor', '--config', cfg], { stdio: ['ignore', 'ignore', fd] });
    closeSync(fd);
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const logText = () => {
      try {
        return readFileSync(logPath, 'utf8');
      } catch {
        return '';
      }
    };
    // the processor logs its metrics port at start ("processor started")
    const port = await until(
      `processor ${name} to start`,
      () => {
        if (child.exitCode !== null) throw new Error(`processor ${name} exited ${child.exitCode}: ${logText().slice(-3000)}`);
        const m = /"metricsPort":(\d+)[^\n]*"msg":"processor started"/.exec(logText());
        return Promise.resolve(m ? Number(m[1]) : undefined);
      },
      180_000, // a process start can take over a minute at load 25 on 2 cores
      100,
    );
    const inst: ProcInstance = {
      child,
      metricsPort: port,
      kill9: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await exited;
        }
      },
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(t);
        }
      },
    };
    this.procs.push(inst);
    return inst;
  }

  logs(): string {
    let s = '';
    for (let i = 1; i <= this.nextPort; i++) {
      for (const f of [`p0`, `p1`, `p2`, `a`, `b`, `main`]) {
        try {
          s += readFileSync(join(this.dir, `${f}.${i}.log`), 'utf8');
        } catch {
          /* absent */
        }
      }
    }
    return s;
  }

  async getProducer(): Promise<Producer> {
    if (!this.producer) {
      this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
      await this.producer.connect();
    }
    return this.producer;
  }

  /** Produce NDJSON lines in order, keyed by region (lines without a readable region get key "unknown"). */
  async produceLines(lines: readonly string[], chunk = 500): Promise<void> {
    const p = await this.getProducer();
    for (let i = 0; i < lines.length; i += chunk) {
      await p.send({ topic: this.topics.events, acks: -1, messages: lines.slice(i, i + chunk).map((value) => ({ key: regionKey(value), value })) });
    }
  }

  async produceRaw(messages: { key: string | null; value: Buffer | string | null; headers?: IHeaders }[]): Promise<void> {
    const p = await this.getProducer();
    await p.send({ topic: this.topics.events, acks: -1, messages });
  }

  /** Wait until the group's committed offsets reach the end of every events partition. */
  async waitCaughtUp(timeoutMs = 60_000): Promise<void> {
    const admin = await this.getAdmin();
    await until(
      'the processor to commit the end of the events topic (and of the fleet topic the events partitions forward to)',
      async () => {
        const done = async (topic: string, groupId: string) => {
          const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
          const c = committed[0]?.partitions ?? [];
          return ends.every((e) => Number(e.high) === 0 || Number(c.find((x) => x.partition === e.partition)?.offset ?? -1) >= Number(e.high));
        };
        if (!(await done(this.topics.events, this.groupId))) return false;
        const topics = await admin.listTopics();
        return !topics.includes(this.topics.fleet) || (await done(this.topics.fleet, `${this.groupId}.fleet`));
      },
      timeoutMs,
      250,
    );
  }

  /** Wait until consumer group `groupId` has committed the end of the events topic (the store writer's, say). */
  async waitGroupCaughtUp(groupId: string, timeoutMs = 90_000): Promise<void> {
    const admin = await this.getAdmin();
    await until(
      `group ${groupId} to commit the end of the events topic`,
      async () => {
        const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(this.topics.events), admin.fetchOffsets({ groupId, topics: [this.topics.events] })]);
        const c = committed[0]?.partitions ?? [];
        return ends.every((e) => Number(e.high) === 0 || Number(c.find((x) => x.partition === e.partition)?.offset ?? -1) >= Number(e.high));
      },
      timeoutMs,
      250,
    );
  }

  /** Every committed record of a topic, in partition order (read_committed, from the beginning to the end). */
  async drain(topic: string, timeoutMs = 30_000): Promise<{ key: string | null; value: string; headers: Record<string, string>; partition: number; offset: string }[]> {
    const admin = await this.getAdmin();
    const ends = await admin.fetchTopicOffsets(topic);
    const want = new Map(ends.map((e) => [e.partition, Number(e.high)]));
    const done = new Map<number, boolean>([...want].map(([p, h]) => [p, h === 0]));
    const out: { key: string | null; value: string; headers: Record<string, string>; partition: number; offset: string }[] = [];
    if ([...done.values()].every(Boolean)) return out;
    const consumer = this.kafka.consumer({ groupId: `${this.groupId}.reader.${randomUUID().slice(0, 6)}`, readUncommitted: false, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let finished: () => void = () => {};
    const allDone = new Promise<void>((r) => (finished = r));
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        await Promise.resolve();
        for (const m of batch.messages) {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = String(v);
          out.push({ key: m.key?.toString() ?? null, value: m.value?.toString() ?? '', headers, partition: batch.partition, offset: m.offset });
        }
        if (Number(batch.lastOffset()) + 1 >= (want.get(batch.partition) ?? 0)) done.set(batch.partition, true);
        if ([...done.values()].every(Boolean)) finished();
      },
    });
    const t = setTimeout(finished, timeoutMs);
    await allDone;
    clearTimeout(t);
    await consumer.disconnect();
    if (![...done.values()].every(Boolean)) throw new Error(`drain ${topic}: not all partitions reached their end within ${timeoutMs} ms`);
    return out.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
  }

  async transitions(): Promise<Transition[]> {
    return (await this.drain(this.topics.alerts)).map((r) => JSON.parse(r.value) as Transition);
  }

  async hourlies(): Promise<HourlyAggregate[]> {
    return (await this.drain(this.topics.hourly)).map((r) => JSON.parse(r.value) as HourlyAggregate);
  }

  async cleanup(): Promise<void> {
    for (const p of this.procs) await p.stop().catch(() => {});
    await this.producer?.disconnect().catch(() => {});
    try {
      const admin = await this.getAdmin();
      await admin.deleteTopics({ topics: Object.values(this.topics) as string[], timeout: 10_000 }).catch(() => {});
      await admin.deleteGroups([this.groupId, `${this.groupId}.fleet`]).catch(() => {});
      await admin.disconnect();
    } catch {
      /* broker gone */
    }
    if (process.env.SIGNWATCH_KEEP_TEST_DIRS !== '1') rmSync(this.dir, { recursive: true, force: true });
  }
}

export function regionKey(line: string): string {
  const m = /"region":"([A-Z]{2})"/.exec(line);
  return m ? m[1]! : 'unknown';
}

/** What `signwatch replay` prints for the same lines (the same engine, event-time clock). */
export async function reference(lines: readonly string[]): Promise<{ transitions: Transition[]; hourly: HourlyAggregate[]; invalid: number }> {
  const transitions: Transition[] = [];
  const hourly: HourlyAggregate[] = [];
  const summary = await replay(Readable.from([lines.join('\n') + '\n']), {
    policy: defaultPolicy(),
    onTransition: (t) => transitions.push(t),
    onHourly: (a) => hourly.push(a),
  });
  // replay flushes open hourly buckets at the end of input (final = false); the live processor does not
  return { transitions, hourly: hourly.filter((h) => h.final), invalid: summary.invalid };
}

/** Order-independent identity of a transition / aggregate (partitions interleave regions differently). */
export const transitionKey = (t: Transition) => `${t.dedupKey}|${t.at}|${t.state}`;
export const hourlyKeyOf = (h: HourlyAggregate) => `${h.region}|${h.host ?? '*'}|${h.hour}|${h.revision}`;

export function byKey<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const i of items) {
    const k = key(i);
    m.set(k, [...(m.get(k) ?? []), i]);
  }
  return m;
}

/** Sort a copy by key, for deepEqual. */
export const sorted = <T>(items: readonly T[], key: (t: T) => string): T[] => [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

const START = Date.parse('2026-11-20T00:00:00.000Z');

/** A stream with every incident of the demo plus duplicates, late deliveries and malformed lines. */
export function stream(events: number, seed = 7): string[] {
  return [...simulate({ seed, start: START, events, ratePerSecond: 2, incidents: demoIncidents(START), duplicateRate: 0.01, lateRate: 0.01, malformedRate: 0.005 })];
}

export function assertNoDuplicates(ts: Transition[]): void {
  const dups = [...byKey(ts, transitionKey)].filter(([, v]) => v.length > 1).map(([k]) => k);
  assert.deepEqual(dups, [], 'no transition is written twice');
}

/** Same multiset of transitions, and per dedup key the same sequence (firing, resolved, …). */
export function assertSameTransitions(got: Transition[], want: Transition[]): void {
  assertNoDuplicates(got);
  assert.ok(want.length >= 3, `the reference has transitions (${want.length})`);
  assert.deepEqual(sorted(got, transitionKey), sorted(want, transitionKey));
  const seq = (ts: Transition[]) => [...byKey(ts, (t) => t.dedupKey)].map(([k, v]) => `${k}: ${v.map((t) => `${t.state}@${t.at}`).join(' ')}`).sort();
  assert.deepEqual(seq(got), seq(want));
}

export function assertSameHourly(got: HourlyAggregate[], want: HourlyAggregate[]): void {
  const dups = [...byKey(got, hourlyKeyOf)].filter(([, v]) => v.length > 1).map(([k]) => k);
  assert.deepEqual(dups, [], 'no hourly aggregate is written twice');
  assert.ok(want.length > 0);
  assert.deepEqual(sorted(got, hourlyKeyOf), sorted(want, hourlyKeyOf));
}

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

async function portFree(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A private broker (own data dir and ports, cached jars) that a test may stop and restart. */
export class PrivateBroker {
  readonly home = mkdtempSync(join(tmpdir(), 'sw-kafka-it-'));
  port = 0;

  /** @param extraProps broker properties appended to scripts/kafka/server.properties (given the chosen port P; P+2 is free too) */
  constructor(private readonly extraProps?: (port: number) => string) {}

  get brokers(): string[] {
    return [`127.0.0.1:${this.port}`];
  }

  private run(cmd: 'start' | 'stop'): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn('bash', [join(REPO, 'scripts/kafka.sh'), cmd], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: {
          ...process.env,
          SIGNWATCH_KAFKA_HOME: this.home,
          SIGNWATCH_KAFKA_LIB: join(REPO, '.cache/kafka/lib'),
          SIGNWATCH_KAFKA_PORT: String(this.port),
          ...(this.extraProps ? { SIGNWATCH_KAFKA_EXTRA_PROPS: join(this.home, 'extra.properties') } : {}),
        },
      });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kafka.sh ${cmd} exited ${code}: ${err}`))));
    });
  }

  async start(): Promise<void> {
    if (this.port === 0) {
      for (let i = 0; i < 50 && this.port === 0; i++) {
        const p = 20_000 + Math.floor(Math.random() * 20_000);
        if ((await portFree(p)) && (await portFree(p + 1)) && (await portFree(p + 2))) this.port = p;
      }
      if (this.port === 0) throw new Error('no free port pair for a private broker');
      if (this.extraProps) writeFileSync(join(this.home, 'extra.properties'), this.extraProps(this.port), { mode: 0o600 });
    }
    await this.run('start');
  }

  stop(): Promise<void> {
    return this.run('stop');
  }

  async destroy(): Promise<void> {
    if (this.port !== 0) await this.stop().catch(() => {});
    rmSync(this.home, { recursive: true, force: true });
  }
}
