/**
 * `signwatch gate check|serve|override`: the release gate for CI pipelines.
 *   check     exit 0 when the region may release, 1 while it is frozen, 3 when the gate cannot be asked
 *   serve     host the gate (HTTP on 127.0.0.1), its state rebuilt from the alert topic
 *   override  open a frozen region for a while (a person's token from SIGNWATCH_GATE_TOKEN or --token-file; audited)
 * Everything printed that came from someone else (reasons, names, summaries) has its control characters escaped.
 */
import { parseCommandArgs, type CommandModule } from '../platform/cli.js';
import { UsageError } from '../platform/errors.js';
import { Region, badRegion } from '../../schemas/events.js';
import { parseDuration } from '../platform/duration.js';
import { DEFAULT_POLICY_PATH, loadPolicy } from '../engine/policy.js';
import { ReleaseGate, type GateState } from './release-gate.js';
import { startGateServer } from './gate-server.js';
import { startTracing } from '../platform/telemetry.js';
import { alertTopicReader } from './alert-topic.js';
import { createLogger } from '../platform/logger.js';
import { effectiveConfigText } from '../platform/check-config.js';
import { connectKafka } from '../platform/kafka.js';
import { describeConnection } from '../platform/kafka-connection.js';
import { brokersFlag, GateServeConfig, loadCommandConfig, portFlag } from './command-config.js';
import { loadTokenBook, readPresentedToken } from '../platform/tokens.js';
import { escapeControl } from '../platform/text.js';

const DEFAULT_URL = 'http://127.0.0.1:9480';

const HELP = `Usage:
  signwatch gate check --region R [--require-parity] [--url URL] [--timeout 5s] [--json]
  signwatch gate serve [--config FILE] [--port 9480] [--host 127.0.0.1] [--brokers 127.0.0.1:9092]
                       [--topic alerts.v1] [--policy FILE] [--token-book FILE] [--audit-file FILE]
                       [--log-level LEVEL] [--check-config]
  signwatch gate override --region R --reason TEXT [--ttl 1h] [--by NAME] [--clear] [--url URL] [--token-file FILE]

check     exits 0 when region R may release, 1 while it is frozen (every reason printed), 3 when the gate
          cannot be reached (CI must treat that as "do not ship"). --require-parity also refuses (exit 1)
          while a host of the region differs from the fleet's wrapper checksum, secret version, keychain
          path, search list or team IDs (parity_drift firing), whether or not parity freezes.
serve     serves GET /v1/release-gate?region=R; state rebuilt from the alert topic on every start.
          --config FILE: YAML/JSON with the kafka block every component takes (brokers, tls, sasl, timeouts:
          docs/secured-cluster.md) and topic, host, port, policy, tokenBook, auditFile, log.level; flags
          override it. --check-config prints the effective configuration (secrets redacted) and exits.
          --token-book FILE: who may override, one "NAME sha256:<hash>" line per person (signwatch tokens
          add); the override's "by" is the name the book gives the token. Deprecated: a single shared token
          (--token-file FILE or SIGNWATCH_GATE_TOKEN on serve) still works, audited as by "shared-token".
          --audit-file FILE: every override and removal is appended (0600, fsync'd) BEFORE it takes effect;
          when it cannot be written the override is refused (500 SW_GATE_AUDIT) and nothing changes.
override  opens a frozen region for --ttl (default 1h, at most the policy's gate.maxOverrideTtl, 24h by
          default); --clear removes an override. The token comes from the SIGNWATCH_GATE_TOKEN environment
          variable or --token-file, never from the command line. Your name is the one the gate's token book
          has for your token: --by is only a check (refused with 403 when it names someone else).

Regions: ${Region.options.join(', ')}. Default URL: ${DEFAULT_URL}.
`;

const OPTIONS = {
  region: { type: 'string' },
  url: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  'require-parity': { type: 'boolean' },
  port: { type: 'string' },
  host: { type: 'string' },
  brokers: { type: 'string' },
  topic: { type: 'string' },
  policy: { type: 'string' },
  'token-file': { type: 'string' },
  'token-book': { type: 'string' },
  'audit-file': { type: 'string' },
  reason: { type: 'string' },
  by: { type: 'string' },
  ttl: { type: 'string' },
  clear: { type: 'boolean' },
  config: { type: 'string' },
  'log-level': { type: 'string' },
  'check-config': { type: 'boolean' },
} as const;

function region(sub: string, v: string | undefined, required = true): Region | undefined {
  if (v === undefined) {
    if (required) throw new UsageError(`signwatch gate ${sub}: --region: required (one of ${Region.options.join(', ')})`);
    return undefined;
  }
  const r = Region.safeParse(v.toUpperCase());
  if (!r.success) throw new UsageError(`signwatch gate ${sub}: --region: ${badRegion(v)}`);
  return r.data;
}

function duration(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const ms = parseDuration(v);
  if (ms === undefined) throw new UsageError(`signwatch gate: --${flag}: '${v}' is not a duration (e.g. 5s, 1h)`);
  return ms;
}

function token(file: string | undefined, command: string): string | undefined {
  return readPresentedToken({ command, file, envVars: ['SIGNWATCH_GATE_TOKEN'] });
}

/** What `gate check` prints for a state (exported for the console's Gate page). */
export function describe(s: GateState, requireParity: boolean): string {
  const e = escapeControl;
  const lines = (rs: readonly { dedupKey: string; summary: string }[]) => rs.map((r) => `  - ${e(r.dedupKey)}: ${e(r.summary)}\n`).join('');
  const parity = s.parity ?? [];
  const region = e(String(s.region));
  const parityText = parity.length
    ? `${requireParity ? 'REFUSED: parity required and ' : 'parity: '}${parity.length} host(s) differ from the fleet\n${lines(parity)}`
    : requireParity
      ? 'parity: every host of the region matches the fleet\n'
      : '';
  if (!s.frozen) {
    return (
      (s.override
        ? `${region}: OPEN by override of ${e(s.override.by)} until ${e(s.override.until)} (${e(s.override.reason)}); ${s.reasons.length} reason(s) pending\n${lines(s.reasons)}`
        : `${region}: open\n`) + parityText
    );
  }
  return `${region}: FROZEN since ${e(String(s.since))}\n${lines(s.reasons)}${parityText}`;
}

async function check(v: { region?: string; url?: string; timeout?: string; json?: boolean; 'require-parity'?: boolean }): Promise<number> {
  const r = region('check', v.region)!;
  const base = (v.url ?? DEFAULT_URL).replace(/\/+$/, '');
  const timeoutMs = duration('timeout', v.timeout, 5000);
  let state: GateState;
  try {
    const res = await fetch(`${base}/v1/release-gate?region=${encodeURIComponent(r)}`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${escapeControl((await res.text()).slice(0, 200))}`);
    state = (await res.json()) as GateState;
  } catch (e) {
    process.stderr.write(`signwatch gate check: cannot ask the release gate at ${base}: ${(e as Error).message}; treat as frozen\n`);
    return 3;
  }
  const requireParity = v['require-parity'] === true;
  process.stdout.write(v.json ? `${JSON.stringify(state)}\n` : describe(state, requireParity));
  return state.frozen || (requireParity && (state.parity ?? []).length > 0) ? 1 : 0;
}

async function override(v: { region?: string; url?: string; reason?: string; by?: string; ttl?: string; clear?: boolean; 'token-file'?: string }): Promise<number> {
  const r = region('override', v.region)!;
  const base = (v.url ?? DEFAULT_URL).replace(/\/+$/, '');
  const tok = token(v['token-file'], 'signwatch gate override');
  if (!tok) throw new UsageError('signwatch gate override: no token (set SIGNWATCH_GATE_TOKEN or --token-file)');
  // the gate takes the name from its token book; --by, when given, is only checked against it
  const by = v.by;
  const headers = { authorization: `Bearer ${tok}`, 'content-type': 'application/json' };
  let res: Response;
  if (v.clear) {
    res = await fetch(`${base}/v1/release-gate/override?region=${r}${by !== undefined ? `&by=${encodeURIComponent(by)}` : ''}`, { method: 'DELETE', headers: { authorization: headers.authorization } });
  } else {
    if (!v.reason) throw new UsageError('signwatch gate override: --reason is required');
    duration('ttl', v.ttl, 3_600_000);
    res = await fetch(`${base}/v1/release-gate/override`, { method: 'POST', headers, body: JSON.stringify({ region: r, reason: v.reason, ...(by !== undefined ? { by } : {}), ttl: v.ttl ?? '1h' }) });
  }
  const text = await res.text();
  if (!res.ok) {
    process.stderr.write(`signwatch gate override: ${res.status}: ${escapeControl(text.slice(0, 2000))}\n`);
    return 1;
  }
  process.stdout.write(describe(JSON.parse(text) as GateState, false));
  return 0;
}

async function serve(v: {
  config?: string;
  port?: string;
  host?: string;
  brokers?: string;
  topic?: string;
  policy?: string;
  'token-file'?: string;
  'token-book'?: string;
  'audit-file'?: string;
  'log-level'?: string;
  'check-config'?: boolean;
}): Promise<number> {
  const cfg = loadCommandConfig(GateServeConfig, 'gate serve', v.config, {
    'kafka.brokers': brokersFlag(v.brokers),
    topic: v.topic,
    host: v.host,
    port: portFlag('gate serve', 'port', v.port),
    policy: v.policy,
    auditFile: v['audit-file'],
    tokenBook: v['token-book'],
    'log.level': v['log-level'],
  });
  if (v['check-config']) {
    process.stdout.write(effectiveConfigText(cfg));
    return 0;
  }
  const policy = loadPolicy(cfg.policy ?? DEFAULT_POLICY_PATH);
  let tokenBook;
  try {
    tokenBook = cfg.tokenBook === undefined ? undefined : loadTokenBook(cfg.tokenBook);
  } catch (e) {
    throw new UsageError(`signwatch gate serve: --token-book: ${(e as Error).message}`);
  }
  const shared = token(v['token-file'], 'signwatch gate serve');
  const logger = createLogger({ name: 'signwatch-alerting', level: cfg.log.level });
  // the OpenTelemetry SDK (OTEL_* environment; exports only with an OTLP endpoint): HTTP server spans
  const releaseTracing = startTracing({ serviceName: 'signwatch-gate' });
  // no broker, a wrong password or an untrusted CA: one line and exit 1 within the connection timeout
  await connectKafka(cfg.kafka, logger, { command: 'gate serve' });
  // said once connected: a start that cannot reach Kafka prints its one line and nothing else
  if (shared !== undefined) logger.warn('release gate: a single shared override token is deprecated (audited as by "shared-token"): give each person a token with `signwatch tokens add` and pass --token-book');
  if (tokenBook === undefined && shared === undefined) logger.info('release gate: no --token-book: overrides are disabled');
  const gate = new ReleaseGate(policy, { ...(tokenBook ? { tokenBook } : {}), ...(shared !== undefined ? { overrideToken: shared } : {}), logger, ...(cfg.auditFile !== undefined ? { auditFile: cfg.auditFile } : {}) });
  const reader = alertTopicReader({
    kafka: cfg.kafka,
    topic: cfg.topic,
    logger,
    onTransition: (t) => gate.apply(t),
    onInvalid: (reason) => logger.warn({ reason }, 'alert topic: skipped a message'),
  });
  await reader.start();
  const server = await startGateServer(gate, { host: cfg.host, port: cfg.port });
  logger.info({ url: server.url, kafka: describeConnection(cfg.kafka), topic: cfg.topic }, 'release gate serving');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.stop();
  await reader.stop();
  await releaseTracing();
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs('gate', argv, OPTIONS, HELP, true, ['check', 'serve', 'override']);
  if (!args) return 0;
  const [sub, ...extra] = args.positionals;
  if (extra.length > 0) throw new UsageError(`signwatch gate: unexpected argument '${extra[0]}'`);
  switch (sub) {
    case 'check':
      return check(args.values);
    case 'override':
      return override(args.values);
    case 'serve':
      return serve(args.values);
    default:
      throw new UsageError(`signwatch gate: expected 'check', 'serve' or 'override'${sub ? `, got '${sub}'` : ''}\nTry 'signwatch gate --help'.`);
  }
}

const mod: CommandModule = { run };
export default mod;
