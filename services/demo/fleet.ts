/**
 * The demo's simulated fleet on a compressed clock. Five regions of hosts:
 *   - background traffic from the seeded generator (services/simulate: simulate() with demoIncidents(start)
 *     minus the keychain lock): the SG slow vault and the US certificate 18 days from expiry, produced to the
 *     events topic keyed by region (acks=all);
 *   - the HK keychain lock played by the affected hosts through the real agent code path (DemoAgentHost: fake
 *     codesign replaying the recorded errSecInternalComponent capture → classification → event → spool →
 *     shipper → Kafka). Their background codesign lines during the lock are dropped (the agent reports them).
 *
 * Time: simulated time = start + prelude + (wall − wall at start) × speed. The first tick sends the prelude at
 * once (the quiet fleet history before the incident). Every tick sends the background events up to each agent
 * call that is due, runs the call and ships the spools, then the background up to the tick's simulated instant,
 * so each region's partition sees event time in order however long a tick takes: the processor must run with
 * `clock: event`.
 *
 * Lifecycle: start() → `done` resolves when the simulated period is over (or rejects on a Kafka failure);
 * stop() is idempotent, ends the loop and disconnects the producer.
 */
import { createKafka, Partitioners } from '../platform/kafka.js';
import type { KafkaConnectionSettings } from '../platform/kafka-connection.js';
import type { Logger } from '../platform/logger.js';
import type { Producer } from 'kafkajs';
import { demoIncidents, rng, simulate, type Incident } from '../simulate/simulate.js';
import { HOUR, MINUTE } from '../engine/time.js';
import type { Region } from '../../schemas/events.js';
import type { DemoAgentHost, CodesignCall } from './agent-host.js';



export type KeychainLock = Extract<Incident, { kind: 'keychain-lock' }>;

/** Fixtures of the fake codesign that the agent classifies as keychain failures (recorded real output). */
export const LOCK_FIXTURES = ['codesign-errSecInternalComponent__replacing-existing', 'codesign-errSecInternalComponent__xcodebuild-wrapped'] as const;

export interface FleetOptions {
  /** The demo's connection block (TLS/SASL included). */
  kafka: KafkaConnectionSettings;
  log: Logger;
  topic: string;
  clientId: string;
  seed: number;
  /** Simulated start (ms). */
  start: number;
  /** Simulated length of the scenario (ms). */
  duration: number;
  /** Simulated time sent at once on the first tick. */
  prelude: number;
  /** Simulated ms per wall ms. */
  speed: number;
  /** Background events per simulated second across the fleet. */
  rate: number;
  tickMs: number;
  /** The HK agents (index i plays signing host i+1 of the region); the lock's `hosts` first ones fail. */
  agents: readonly DemoAgentHost[];
  /** Simulated gap between two signing calls of one affected host during the lock. */
  callEvery: number;
  onProgress?: (p: FleetProgress) => void;
  onAgentEvent?: (host: string, ev: Record<string, unknown>) => void;
}

export interface FleetProgress {
  simNow: number;
  background: number;
  agentCalls: number;
  agentFailures: number;
  finished: boolean;
}

export interface Fleet {
  start(): void;
  stop(): Promise<void>;
  readonly done: Promise<void>;
  simNow(): number;
  readonly lock: KeychainLock;
  readonly incidents: readonly Incident[];
}

interface Pending {
  ts: number;
  key: string;
  value: string;
}

/** The signing calls of the affected hosts during the lock, in time order (seeded). */
export function lockSchedule(lock: KeychainLock, hosts: readonly DemoAgentHost[], callEvery: number, seed: number): { host: DemoAgentHost; call: CodesignCall }[] {
  const rand = rng(seed ^ 0x5eed);
  const out: { host: DemoAgentHost; call: CodesignCall }[] = [];
  let job = 4100;
  hosts.slice(0, lock.hosts).forEach((host, i) => {
    for (let t = lock.at + Math.floor(rand() * callEvery) + i * 7000; t < lock.at + lock.duration; t += Math.round(callEvery * (0.6 + rand() * 0.8))) {
      const fail = rand() < (lock.failureRate ?? 0.6);
      out.push({ host, call: { at: t, fixture: fail ? LOCK_FIXTURES[Math.floor(rand() * LOCK_FIXTURES.length)] : undefined, correlationId: `ci-${job++}`, app: `App${1 + Math.floor(rand() * 4)}` } });
    }
  });
  return out.sort((a, b) => a.call.at - b.call.at);
}

export function createFleet(o: FleetOptions): Fleet {
  const all = demoIncidents(o.start);
  const lock = all.find((i): i is KeychainLock => i.kind === 'keychain-lock')!;
  const background = all.filter((i) => i.kind !== 'keychain-lock');
  const agentHosts = new Set(o.agents.slice(0, lock.hosts).map((a) => a.host));
  const lines = simulate({ seed: o.seed, start: o.start, events: Math.ceil((o.rate * o.duration) / 1000), ratePerSecond: o.rate, incidents: background });
  const schedule = lockSchedule(lock, o.agents, o.callEvery, o.seed);
  const end = o.start + o.duration;
  const kafka = createKafka({ ...o.kafka, clientId: o.clientId }, o.log);
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  const progress: FleetProgress = { simNow: o.start, background: 0, agentCalls: 0, agentFailures: 0, finished: false };
  let wall0 = 0;
  let next: Pending | undefined;
  let exhausted = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let resolveDone: () => void = () => {};
  let rejectDone: (e: unknown) => void = () => {};
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  done.catch(() => {}); // observed by the caller; never an unhandled rejection

  const simNow = () => (wall0 === 0 ? o.start : Math.min(end, o.start + o.prelude + (Date.now() - wall0) * o.speed));

  const pull = (): Pending | undefined => {
    for (;;) {
      const r = lines.next();
      if (r.done) {
        exhausted = true;
        return undefined;
      }
      const e = JSON.parse(r.value) as { ts: string; region: Region; host: string; type: string };
      const ts = Date.parse(e.ts);
      // the affected hosts' own agents report their signing calls during the lock
      if (e.type === 'codesign' && agentHosts.has(e.host) && ts >= lock.at && ts < lock.at + lock.duration) continue;
      return { ts, key: e.region, value: r.value };
    }
  };

  /** The background events up to `upTo` (simulated ms), produced in order (acks=all). */
  const sendBackground = async (upTo: number) => {
    const batch: { key: string; value: string }[] = [];
    if (!next && !exhausted) next = pull();
    while (next && next.ts <= upTo) {
      batch.push({ key: next.key, value: next.value });
      next = pull();
    }
    for (let i = 0; i < batch.length && !stopped; i += 2000) {
      await producer.send({ topic: o.topic, acks: -1, messages: batch.slice(i, i + 2000) });
    }
    progress.background += batch.length;
  };

  const tick = async () => {
    const now = simNow();
    // Every region's partition sees event time in order, however long a tick took (on a loaded machine one tick can
    // span more simulated time than the allowed lateness, and events sent behind later ones would be dropped as
    // late: a heartbeat behind an agent's call made HK's hosts look silent). So: the background up to each due
    // agent call, the call, its spool shipped (acks=all), and so on; then the background up to `now`.
    while (schedule.length && schedule[0]!.call.at <= now && !stopped) {
      await sendBackground(schedule[0]!.call.at);
      const { host, call } = schedule.shift()!;
      const ev = await host.codesign(call);
      progress.agentCalls++;
      if (ev?.outcome === 'fail') progress.agentFailures++;
      if (ev) o.onAgentEvent?.(host.host, ev);
      for (const a of o.agents) {
        if (!(await a.ship(Date.now() + 30_000))) throw new Error(`agent ${a.host}: spool not shipped within 30 s (broker unreachable?)`);
      }
    }
    await sendBackground(now);
    progress.simNow = now;
    progress.finished = now >= end && !next && schedule.length === 0;
    o.onProgress?.({ ...progress });
  };

  const loop = () => {
    if (stopped) return;
    const t0 = Date.now();
    tick().then(
      () => {
        if (progress.finished) {
          resolveDone();
          return;
        }
        if (!stopped) timer = setTimeout(loop, Math.max(0, o.tickMs - (Date.now() - t0)));
      },
      (e: unknown) => {
        if (!stopped) rejectDone(e);
      },
    );
  };

  let stopPromise: Promise<void> | undefined;
  return {
    lock,
    incidents: all,
    done,
    simNow,
    start() {
      if (wall0 !== 0) return;
      producer.connect().then(
        () => {
          wall0 = Date.now();
          loop();
        },
        (e: unknown) => rejectDone(e),
      );
    },
    stop() {
      stopPromise ??= (async () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        resolveDone();
        await producer.disconnect().catch(() => {});
      })();
      return stopPromise;
    },
  };
}

export const DEFAULTS = { duration: 4 * HOUR, prelude: 45 * MINUTE, callEvery: 40_000 } as const;
