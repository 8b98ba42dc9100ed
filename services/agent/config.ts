/**
 * Agent configuration: a JSON file (`--config PATH`, else $SIGNWATCH_AGENT_CONFIG, else
 * /usr/local/etc/signwatch/agent.json) = defaults + a strict check + a frozen result. Unknown keys and bad
 * values are errors that name the key (`kafka.brokers[1]: must be host:port`).
 *
 * The check is hand-written on purpose: `signwatch agent exec` runs once per signing call and loading zod costs
 * tens of milliseconds of start-up, so nothing on that path imports it (see docs/agent.md). No secret is ever read
 * from this file: keychain passwords come only from file descriptor 3 (`agent unlock`).
 */
import { readFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join, isAbsolute } from 'node:path';
import { ConfigError as PlatformConfigError } from '../platform/errors.js';
import { CONNECTION_KEYS, parseKafkaConnection, type KafkaConnectionSettings } from '../platform/kafka-connection.js';

export const REGIONS = ['HK', 'JP', 'KR', 'SG', 'US'] as const;
export type Region = (typeof REGIONS)[number];

export interface MaintenanceWindow {
  readonly start: string;
  readonly end: string;
}

export interface AgentConfig {
  readonly region: Region;
  readonly host: string;
  readonly pool: 'signing' | 'compile';
  /** State (state.json) and the spool (spool/) live here. */
  readonly dataDir: string;
  readonly spoolMaxEvents: number;
  /** The signing keychain (parity: the same path on every host); optional. */
  readonly keychain?: string;
  /** Version label of the keychain secret in the vault (parity), never the secret. */
  readonly secretVersion: string;
  /**
   * The connection block every component takes (brokers, clientId, tls, sasl, timeouts: docs/secured-cluster.md),
   * plus the topic the daemon ships to. The SASL password comes from sasl.passwordFile or sasl.passwordEnv.
   */
  readonly kafka: KafkaConnectionSettings & { readonly topic: string };
  /** `set-key-partition-list` inside one of these [start, end) windows is declared; outside it is suspicious. */
  readonly maintenanceWindows: readonly MaintenanceWindow[];
  readonly intervals: { readonly scanSec: number; readonly clockSec: number; readonly heartbeatSec: number; readonly shipMs: number };
  readonly sntp: { readonly server: string; readonly timeoutMs: number };
  readonly notarize: { readonly maxAttempts: number; readonly baseDelayMs: number; readonly maxDelayMs: number };
  readonly unlockTimeoutMs: number;
  /** What every host of the fleet must look like (docs/rollout.md): `agent ssh-command` and `agent doctor` read it. */
  readonly fleet: FleetConfig;
}

export interface FleetConfig {
  /** The keychain search list every host must have, in order (the CI file keychain first); empty = not checked. */
  readonly searchList: readonly string[];
  /** The wrapper checksum (heartbeat wrapperSha256) and secret version the fleet runs; unset = not compared. */
  readonly wrapperSha256?: string;
  readonly secretVersion?: string;
  /** The notarytool keychain profile the host must use; unset = not checked. */
  readonly notaryProfile?: string;
  /** Largest clock offset the doctor accepts (the clock_skew alert's maxOffsetMs in alerts/policy.yaml is 1000). */
  readonly maxClockOffsetMs: number;
  /** `agent ssh-command` runs an interactive shell when no command was given (default: refused). */
  readonly allowInteractiveSsh: boolean;
  /** The LaunchAgent plist `agent doctor` checks (default ~/Library/LaunchAgents/com.signwatch.agent.plist). */
  readonly launchdPlist: string;
  /** The launchd label (`launchctl print gui/<uid>/<label>`). */
  readonly launchdLabel: string;
  /** Folders searched for stray .p12 files (default: the user's home folder). */
  readonly p12SearchDirs: readonly string[];
  /**
   * The event store's HTTP API (`signwatch query serve`, e.g. http://query.internal:8081): the doctor takes the
   * wrapper checksum, secret version and search list the other hosts' last heartbeats agree on (strict majority)
   * for every value the config does not pin. Its bearer token is read from baselineTokenFile.
   */
  readonly baselineUrl?: string;
  readonly baselineTokenFile?: string;
}

export class ConfigError extends Error {
  readonly code = 'SW_AGENT_CONFIG';
  readonly retryable = false;
}

export const DEFAULT_CONFIG_PATH = '/usr/local/etc/signwatch/agent.json';

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Reader {
  constructor(
    private readonly obj: Json,
    private readonly prefix: string,
    allowed: readonly string[],
  ) {
    for (const k of Object.keys(obj)) {
      if (!allowed.includes(k)) throw new ConfigError(`${prefix}${k}: unknown key (allowed: ${allowed.join(', ')})`);
    }
  }
  private key(k: string): string {
    return `${this.prefix}${k}`;
  }
  str(k: string, def?: string, check?: (s: string) => string | undefined): string {
    const v = this.obj[k];
    if (v === undefined) {
      if (def === undefined) throw new ConfigError(`${this.key(k)}: required`);
      return def;
    }
    if (typeof v !== 'string' || v.length === 0) throw new ConfigError(`${this.key(k)}: must be a non-empty string`);
    const problem = check?.(v);
    if (problem) throw new ConfigError(`${this.key(k)}: ${problem}`);
    return v;
  }
  optStr(k: string): string | undefined {
    return this.obj[k] === undefined ? undefined : this.str(k);
  }
  int(k: string, def: number, min: number, max: number): number {
    const v = this.obj[k];
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new ConfigError(`${this.key(k)}: must be an integer between ${min} and ${max}`);
    }
    return v;
  }
  bool(k: string, def: boolean): boolean {
    const v = this.obj[k];
    if (v === undefined) return def;
    if (typeof v !== 'boolean') throw new ConfigError(`${this.key(k)}: must be true or false`);
    return v;
  }
  sub(k: string, allowed: readonly string[]): Reader {
    const v = this.obj[k] ?? {};
    if (!isObj(v)) throw new ConfigError(`${this.key(k)}: must be an object`);
    return new Reader(v, `${this.key(k)}.`, allowed);
  }
  arr(k: string): unknown[] | undefined {
    const v = this.obj[k];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw new ConfigError(`${this.key(k)}: must be an array`);
    return v as unknown[];
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

function defaultDataDir(): string {
  return process.platform === 'darwin'
    ? join(homedir(), 'Library', 'Application Support', 'signwatch')
    : join(homedir(), '.local', 'state', 'signwatch');
}

/** Validate a parsed config object: defaults applied, strict, frozen. */
export function parseConfig(raw: unknown): AgentConfig {
  if (!isObj(raw)) throw new ConfigError('(root): must be a JSON object');
  const r = new Reader(raw, '', [
    'region', 'host', 'pool', 'dataDir', 'spoolMaxEvents', 'keychain', 'secretVersion', 'kafka',
    'maintenanceWindows', 'intervals', 'sntp', 'notarize', 'unlockTimeoutMs', 'fleet',
  ]);
  const region = r.str('region', undefined, (s) => ((REGIONS as readonly string[]).includes(s) ? undefined : `must be one of ${REGIONS.join(', ')}`)) as Region;
  const pool = r.str('pool', 'signing', (s) => (s === 'signing' || s === 'compile' ? undefined : 'must be signing or compile')) as 'signing' | 'compile';
  const abs = (s: string) => (isAbsolute(s) ? undefined : 'must be an absolute path');
  let kafka: KafkaConnectionSettings;
  try {
    kafka = parseKafkaConnection(raw.kafka, 'signwatch-agent', 'kafka.', ['topic']);
  } catch (e) {
    if (e instanceof PlatformConfigError) throw new ConfigError(e.message);
    throw e;
  }
  const kafkaR = r.sub('kafka', [...CONNECTION_KEYS, 'topic']);
  const windows = (r.arr('maintenanceWindows') ?? []).map((w, i) => {
    if (!isObj(w)) throw new ConfigError(`maintenanceWindows[${i}]: must be an object {start, end}`);
    const wr = new Reader(w, `maintenanceWindows[${i}].`, ['start', 'end']);
    const ts = (s: string) => (RFC3339.test(s) && !Number.isNaN(Date.parse(s)) ? undefined : 'must be an RFC 3339 time');
    const start = wr.str('start', undefined, ts);
    const end = wr.str('end', undefined, ts);
    if (Date.parse(end) <= Date.parse(start)) throw new ConfigError(`maintenanceWindows[${i}].end: must be after start`);
    return Object.freeze({ start, end });
  });
  const iv = r.sub('intervals', ['scanSec', 'clockSec', 'heartbeatSec', 'shipMs']);
  const sn = r.sub('sntp', ['server', 'timeoutMs']);
  const no = r.sub('notarize', ['maxAttempts', 'baseDelayMs', 'maxDelayMs']);
  const keychain = r.optStr('keychain');
  const fleet = parseFleet(r.sub('fleet', ['searchList', 'wrapperSha256', 'secretVersion', 'notaryProfile', 'maxClockOffsetMs', 'allowInteractiveSsh', 'launchdPlist', 'launchdLabel', 'p12SearchDirs', 'baselineUrl', 'baselineTokenFile']), abs);
  const cfg: AgentConfig = {
    region,
    host: r.str('host', hostname().split('.')[0] || 'localhost', (s) => (s.length <= 253 ? undefined : 'too long')),
    pool,
    dataDir: r.str('dataDir', defaultDataDir(), abs),
    spoolMaxEvents: r.int('spoolMaxEvents', 100_000, 10, 10_000_000),
    ...(keychain !== undefined ? { keychain } : {}),
    secretVersion: r.str('secretVersion', 'unset'),
    kafka: Object.freeze({ ...kafka, topic: kafkaR.str('topic', 'events.v1', (s) => (/^[a-zA-Z0-9._-]{1,249}$/.test(s) ? undefined : 'must be 1-249 characters of [a-zA-Z0-9._-]')) }),
    maintenanceWindows: Object.freeze(windows),
    intervals: Object.freeze({
      scanSec: iv.int('scanSec', 3600, 1, 86_400),
      clockSec: iv.int('clockSec', 900, 1, 86_400),
      heartbeatSec: iv.int('heartbeatSec', 60, 1, 86_400),
      shipMs: iv.int('shipMs', 1000, 10, 600_000),
    }),
    sntp: Object.freeze({ server: sn.str('server', 'time.apple.com'), timeoutMs: sn.int('timeoutMs', 15_000, 100, 120_000) }),
    notarize: Object.freeze({
      maxAttempts: no.int('maxAttempts', 5, 1, 100),
      baseDelayMs: no.int('baseDelayMs', 5_000, 0, 600_000),
      maxDelayMs: no.int('maxDelayMs', 120_000, 0, 3_600_000),
    }),
    unlockTimeoutMs: r.int('unlockTimeoutMs', 30_000, 100, 600_000),
    fleet,
  };
  return Object.freeze(cfg);
}

function absList(r: Reader, k: string, prefix: string, abs: (s: string) => string | undefined): string[] | undefined {
  const list = r.arr(k);
  return list?.map((v, i) => {
    if (typeof v !== 'string' || v.length === 0) throw new ConfigError(`${prefix}${k}[${i}]: must be a non-empty string`);
    const problem = abs(v);
    if (problem) throw new ConfigError(`${prefix}${k}[${i}]: ${problem}`);
    return v;
  });
}

function parseFleet(f: Reader, abs: (s: string) => string | undefined): FleetConfig {
  const wrapperSha256 = f.optStr('wrapperSha256');
  if (wrapperSha256 !== undefined && !/^[0-9a-f]{64}$/.test(wrapperSha256)) throw new ConfigError('fleet.wrapperSha256: must be 64 lower-case hex digits (SHA-256)');
  const secretVersion = f.optStr('secretVersion');
  const notaryProfile = f.optStr('notaryProfile');
  const allow = f.bool('allowInteractiveSsh', false);
  const baselineUrl = f.optStr('baselineUrl');
  if (baselineUrl !== undefined && !/^https?:\/\/[^\s/]+/.test(baselineUrl)) throw new ConfigError('fleet.baselineUrl: must be an http(s) URL');
  const baselineTokenFile = f.optStr('baselineTokenFile');
  if (baselineTokenFile !== undefined && abs(baselineTokenFile)) throw new ConfigError('fleet.baselineTokenFile: must be an absolute path');
  return Object.freeze({
    searchList: Object.freeze(absList(f, 'searchList', 'fleet.', abs) ?? []),
    ...(wrapperSha256 !== undefined ? { wrapperSha256 } : {}),
    ...(secretVersion !== undefined ? { secretVersion } : {}),
    ...(notaryProfile !== undefined ? { notaryProfile } : {}),
    maxClockOffsetMs: f.int('maxClockOffsetMs', 1000, 0, 3_600_000),
    allowInteractiveSsh: allow,
    launchdPlist: f.str('launchdPlist', join(homedir(), 'Library', 'LaunchAgents', 'com.signwatch.agent.plist'), abs),
    launchdLabel: f.str('launchdLabel', 'com.signwatch.agent', (s) => (/^[A-Za-z0-9._-]{1,255}$/.test(s) ? undefined : 'must be a launchd label ([A-Za-z0-9._-])')),
    p12SearchDirs: Object.freeze(absList(f, 'p12SearchDirs', 'fleet.', abs) ?? [homedir()]),
    ...(baselineUrl !== undefined ? { baselineUrl } : {}),
    ...(baselineTokenFile !== undefined ? { baselineTokenFile } : {}),
  });
}

export function configPath(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return explicit ?? env.SIGNWATCH_AGENT_CONFIG ?? DEFAULT_CONFIG_PATH;
}

export function loadConfig(explicit?: string, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const path = configPath(explicit, env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`config ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config ${path}: not JSON (${(e as Error).message})`);
  }
  try {
    return parseConfig(json);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`config ${path}: ${e.message}`);
    throw e;
  }
}

export function inMaintenanceWindow(cfg: AgentConfig, now: number): boolean {
  return cfg.maintenanceWindows.some((w) => Date.parse(w.start) <= now && now < Date.parse(w.end));
}
