/**
 * The Kafka cluster the demo talks to. With KAFKA_BROKERS set (comma-separated host:port) that cluster is used
 * as it is and never touched. Otherwise the local broker of scripts/kafka.sh: `status` first, then `start` only
 * when nothing answers (the first start downloads the jars from Maven Central and prints each one as it
 * arrives; that output goes straight to the terminal). The demo remembers whether it started the broker, and
 * stop() stops it only then: a broker that was already running (CI, another terminal) is left alone.
 *
 * The scripts get the demo's environment (with its run marker, so a broker it started can be found by it).
 * Lifecycle: ensureBroker() → Broker; stop() is idempotent.
 */
import { CodedError } from '../platform/errors.js';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export class BrokerError extends CodedError {}

export interface Broker {
  readonly brokers: string[];
  /** 'env': KAFKA_BROKERS; 'running': a local broker already answered; 'started': this demo started it. */
  readonly origin: 'env' | 'running' | 'started';
  /** The jars were already cached when the demo began (no download needed). */
  readonly jarsCached: boolean;
  stop(): Promise<void>;
}

const BROKER_RE = /^[^\s:,]+:\d{1,5}$/;

/** Parse KAFKA_BROKERS; undefined when unset or empty. Throws BrokerError naming the variable when malformed. */
export function brokersFromEnv(env: NodeJS.ProcessEnv): string[] | undefined {
  const raw = env.KAFKA_BROKERS?.trim();
  if (!raw) return undefined;
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = list.find((b) => !BROKER_RE.test(b));
  if (bad !== undefined || list.length === 0) throw new BrokerError('SW_DEMO_BROKERS', `KAFKA_BROKERS: '${bad ?? raw}' is not host:port (comma-separated list expected)`);
  return list;
}

function runScript(root: string, sub: 'start' | 'stop', inherit: boolean, timeoutMs: number, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('bash', [join(root, 'scripts', 'kafka.sh'), sub], { cwd: root, env, stdio: ['ignore', inherit ? 'inherit' : 'ignore', inherit ? 'inherit' : 'ignore'] });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', () => {
      clearTimeout(timer);
      resolve(127);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code ?? 1);
    });
  });
}

export async function ensureBroker(root: string, env: NodeJS.ProcessEnv, say: (line: string) => void): Promise<Broker> {
  const fromEnv = brokersFromEnv(env);
  const lib = env.SIGNWATCH_KAFKA_LIB ?? join(env.SIGNWATCH_KAFKA_HOME ?? join(root, '.cache', 'kafka'), 'lib');
  const jarsCached = existsSync(join(lib, '.complete'));
  if (fromEnv) {
    say(`Kafka: using KAFKA_BROKERS=${fromEnv.join(',')} (not started or stopped by the demo)`);
    return { brokers: fromEnv, origin: 'env', jarsCached, stop: () => Promise.resolve() };
  }
  const brokers = [`127.0.0.1:${env.SIGNWATCH_KAFKA_PORT ?? '9092'}`];
  const status = spawnSync('bash', [join(root, 'scripts', 'kafka.sh'), 'status'], { cwd: root, env, stdio: 'ignore', timeout: 20_000 });
  if (status.status === 0) {
    say(`Kafka: a broker already answers on ${brokers[0]}; using it (the demo will leave it running)`);
    return { brokers, origin: 'running', jarsCached, stop: () => Promise.resolve() };
  }
  say(
    jarsCached
      ? `Kafka: starting the local broker (bash scripts/kafka.sh start) on ${brokers[0]} …`
      : `Kafka: first run — fetching Apache Kafka 3.9.1's jars (each one downloaded from Maven Central is listed as it arrives; those already in ~/.m2 are copied), then starting it on ${brokers[0]} …`,
  );
  const rc = await runScript(root, 'start', true, 15 * 60_000, env);
  // interrupted or failed after the JVM was launched: stop what this start may have left (kafka.sh stop only
  // stops the broker whose pid file this checkout wrote, i.e. the one just started)
  if (rc !== 0) await runScript(root, 'stop', false, 90_000, env);
  if (rc !== 0) throw new BrokerError('SW_DEMO_KAFKA_START', `Kafka: 'bash scripts/kafka.sh start' failed (exit ${rc}); see .cache/kafka/logs/ — or set KAFKA_BROKERS to use another cluster`);
  let stopped: Promise<void> | undefined;
  return {
    brokers,
    origin: 'started',
    jarsCached,
    stop: () =>
      (stopped ??= (async () => {
        say('Kafka: stopping the broker the demo started (bash scripts/kafka.sh stop) …');
        await runScript(root, 'stop', false, 90_000, env);
      })()),
  };
}
