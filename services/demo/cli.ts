/** `signwatch demo`: parse the options and run the whole pipeline locally (services/demo/demo.ts). */
import { parseCommandArgs, type CommandModule } from '../platform/cli.js';
import { UsageError } from '../platform/errors.js';
import { brokersFromEnv, BrokerError } from './broker.js';
import { runDemo } from './demo.js';
import { z } from 'zod';
import { effectiveConfigText } from '../platform/check-config.js';
import { KafkaConnection } from '../platform/kafka-config.js';
import type { KafkaConnectionSettings } from '../platform/kafka-connection.js';
import { brokersFlag, loadCommandConfig } from '../alerting/command-config.js';
import { drillDemo } from './drill-demo.js';

/** `--config FILE`: the cluster to run on (only the kafka block). */
const DemoConfig = z.strictObject({ kafka: KafkaConnection('signwatch-demo') });

const HELP = `Usage: signwatch demo [--once] [--speed N] [--seed N] [--dir DIR] [--report FILE] [--config FILE | --brokers LIST]
       signwatch demo --scenario drill [--seed N]

Run the whole signwatch pipeline on this machine and play a scripted incident on a simulated fleet of five
regions (HK, JP, KR, SG, US):
  +1h   two HK hosts' signing keychains lock: their agents (the real agent code, with the fake macOS codesign
        replaying a recorded errSecInternalComponent) report failures → PagerDuty page + HK release freeze
  +0h30 a US distribution certificate is 18 days from expiry → one rotation ticket
  +2h   the SG secrets vault is slow → unlock p95 > 800 ms warning
and then the fleet recovers (the page, the freeze and the warning resolve).

It starts the local Kafka broker (bash scripts/kafka.sh start; the first run downloads the jars from Maven
Central) unless KAFKA_BROKERS is set or a broker already answers on 127.0.0.1:9092, the processor (in-process,
clock: event) on fresh topics, an SQLite event store, a local PagerDuty Events API v2 server, the alert-topic
notifier and the release gate. Event time is compressed: one simulated hour every 20 s by default.
Ctrl-C stops everything it started (and the broker only if it started it).

--scenario drill plays the quarterly drill instead, on the engine in this process (no broker): a distribution
certificate is revoked in HK, JP and US, each region rotates at its own pace (one US host stays silent), every
region's drill records are printed as they happen, and the time-to-green table (signwatch drill report) at the end.

Options:
  --scenario NAME    incident (default: the scripted incident above) | drill
  --once             run to the end of the script without a live screen and exit: 0 only when the page, the
                     freeze, the SG warning and the cert ticket happened, the page, freeze and warning resolved,
                     and the first page arrived within 30 s (3 min when the Kafka jars had to be
                     downloaded first)
  --speed N          simulated seconds per wall second (default 180; 60..1200)
  --seed N           seed of the simulated fleet (default 1)
  --rate N           background events per simulated second across the fleet (default 1; 0.2..5)
  --dir DIR          working directory; each run writes DIR/<run id>/ (events.db, outbox, spools, demo.log)
                     (default var/demo)
  --metrics-port N   port of the processor's /metrics (default 0: a free port, printed on screen)
  --policy FILE      alert policy (default alerts/policy.yaml)
  --report FILE      write a JSON report of the run (checks, ports, topics, timings) to FILE
  --config FILE      YAML/JSON with the kafka block every component takes (brokers, tls, sasl, timeouts:
                     docs/secured-cluster.md): run on that cluster (never started or stopped by the demo)
  --brokers LIST     comma-separated host:port (overrides kafka.brokers; like KAFKA_BROKERS)
  --check-config     print the effective Kafka configuration (secrets redacted) and exit
  -h, --help         show this help

Environment:
  KAFKA_BROKERS      comma-separated host:port of an existing cluster to use instead of the local broker

Exit status: 0 finished (with --once: every check passed), 1 a check failed or a component failed,
2 bad usage, 130 interrupted.
`;

function num(v: string | undefined, flag: string, def: number, min: number, max: number, integer: boolean): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`signwatch demo: ${flag} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got "${v}"`);
  }
  return n;
}

export const run: CommandModule['run'] = async (argv) => {
  const a = parseCommandArgs(
    'demo',
    argv,
    {
      once: { type: 'boolean' },
      speed: { type: 'string' },
      seed: { type: 'string' },
      rate: { type: 'string' },
      dir: { type: 'string' },
      'metrics-port': { type: 'string' },
      policy: { type: 'string' },
      report: { type: 'string' },
      config: { type: 'string' },
      brokers: { type: 'string' },
      'check-config': { type: 'boolean' },
      scenario: { type: 'string' },
    },
    HELP,
    false,
  );
  if (!a) return 0;
  const v = a.values;
  if (v.scenario !== undefined && v.scenario !== 'incident' && v.scenario !== 'drill') throw new UsageError(`signwatch demo: --scenario: "${v.scenario}" is not one of incident, drill`);
  if (v.scenario === 'drill') return drillDemo(num(v.seed, '--seed', 17, 0, 2 ** 31 - 1, true), process.stdout);
  try {
    brokersFromEnv(process.env);
  } catch (e) {
    if (e instanceof BrokerError) throw new UsageError(`signwatch demo: ${e.message}`);
    throw e;
  }
  let kafka: KafkaConnectionSettings | undefined;
  if (v.config !== undefined || v.brokers !== undefined || v['check-config']) {
    const cfg = loadCommandConfig(DemoConfig, 'demo', v.config, { 'kafka.brokers': brokersFlag(v.brokers) ?? (v.config === undefined ? brokersFromEnv(process.env) : undefined) });
    if (v['check-config']) {
      process.stdout.write(effectiveConfigText(cfg));
      return 0;
    }
    kafka = cfg.kafka;
  }
  const code = await runDemo({
    ...(kafka ? { kafka } : {}),
    once: v.once === true,
    speed: num(v.speed, '--speed', 180, 60, 1200, false),
    seed: num(v.seed, '--seed', 1, 0, 2 ** 31 - 1, true),
    rate: num(v.rate, '--rate', 1, 0.2, 5, false),
    dir: v.dir ?? 'var/demo',
    metricsPort: num(v['metrics-port'], '--metrics-port', 0, 0, 65535, true),
    ...(v.policy !== undefined ? { policy: v.policy } : {}),
    ...(v.report !== undefined ? { report: v.report } : {}),
    firstPageLimitMs: 30_000,
    firstPageLimitColdMs: 180_000,
    out: process.stdout,
    env: process.env,
  });
  // Everything the demo started is stopped and its report written. A client whose stop was given up after its
  // bound (a loaded machine: a CI run's broker) can still hold a socket and keep the process alive: after a grace
  // period for the natural exit, say so and exit anyway (fresh-clone CI saw Ctrl-C runs hang until the broker went).
  setTimeout(() => {
    process.stderr.write('signwatch demo: a connection was still open 5 s after everything was stopped; exiting\n');
    process.exit(code);
  }, 5000).unref();
  return code;
};
