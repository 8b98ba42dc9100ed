/**
 * The Kafka connection block without zod: its type, the SASL password lookup, a one-line description for messages,
 * and a hand-written check of the block for the agent, whose config is validated without zod for start-up time
 * (services/agent/config.ts; `agent exec` runs once per signing call). services/platform/kafka-config.ts is the zod
 * schema of the same block for every other component; test/unit/platform/kafka-connection.test.ts holds both to the
 * same answers (accepted values, defaults, rejected values).
 *
 * No dependency beyond node and errors.ts.
 */
import { readFileSync } from 'node:fs';
import { parseDuration } from './duration.js';
import { ConfigError } from './errors.js';

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';
export const SASL_MECHANISMS: readonly SaslMechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512'];

export interface TlsFiles {
  /** PEM files; paths, not contents, so that the config file holds no key material. */
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly servername?: string;
  readonly rejectUnauthorized: boolean;
}

export interface SaslSettings {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  /** Read the password from this file (trailing newline trimmed). */
  readonly passwordFile?: string;
  /** Or from this environment variable (default SIGNWATCH_KAFKA_PASSWORD). */
  readonly passwordEnv: string;
}

export interface KafkaConnectionSettings {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** false: plaintext; true: TLS with the system CAs; an object: TLS with these files. */
  readonly tls: boolean | TlsFiles;
  readonly sasl?: SaslSettings;
  /** Milliseconds. */
  readonly connectionTimeout: number;
  readonly requestTimeout: number;
}

export const BROKER_RE = /^[^\s:]+:\d{1,5}$/;
export const ENV_NAME_RE = /^[A-Z_][A-Z0-9_]*$/;
export const DEFAULT_PASSWORD_ENV = 'SIGNWATCH_KAFKA_PASSWORD';
export const DEFAULT_BROKERS: readonly string[] = ['127.0.0.1:9092'];
export const DEFAULT_CONNECTION_TIMEOUT_MS = 3000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const CONNECTION_KEYS = ['brokers', 'clientId', 'tls', 'sasl', 'connectionTimeout', 'requestTimeout'] as const;

/** The SASL password, from the configured file or environment variable. Never logged. */
export function resolveSaslPassword(sasl: SaslSettings, env: NodeJS.ProcessEnv = process.env): string {
  if (sasl.passwordFile !== undefined) {
    try {
      return readFileSync(sasl.passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new ConfigError(`kafka.sasl.passwordFile: cannot read ${sasl.passwordFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const v = env[sasl.passwordEnv];
  if (v === undefined || v === '') throw new ConfigError(`kafka.sasl: no password: set kafka.sasl.passwordFile or the environment variable ${sasl.passwordEnv}`);
  return v;
}

/** "127.0.0.1:9093 (TLS, SASL scram-sha-256 as alice)": the broker list and how it is reached, for messages. */
export function describeConnection(c: Pick<KafkaConnectionSettings, 'brokers' | 'tls' | 'sasl'>): string {
  const how = [c.tls === false ? 'plaintext' : c.tls === true || c.tls.caFile === undefined ? 'TLS, system CAs' : `TLS, CA ${c.tls.caFile}`];
  if (c.tls !== false && c.tls !== true && !c.tls.rejectUnauthorized) how.push('certificate not verified');
  if (c.sasl) how.push(`SASL ${c.sasl.mechanism} as ${c.sasl.username}`);
  return `${c.brokers.join(',')} (${how.join(', ')})`;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function strictKeys(o: Json, prefix: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new ConfigError(`${prefix}${k}: unknown key`);
}

function str(o: Json, prefix: string, k: string, max = Infinity): string | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(`${prefix}${k}: must be a non-empty string`);
  if (v.length > max) throw new ConfigError(`${prefix}${k}: at most ${max} characters`);
  return v;
}

function duration(o: Json, prefix: string, k: string, def: number): number {
  const v = o[k];
  if (v === undefined) return def;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === 'string') {
    const ms = parseDuration(v);
    if (ms !== undefined) return ms;
  }
  throw new ConfigError(`${prefix}${k}: must be a duration such as "3s" or a non-negative integer of milliseconds`);
}

/**
 * Check a `kafka:` block by hand (the agent's path): defaults applied, unknown keys rejected (besides `extraKeys`,
 * which the caller reads itself), frozen. `prefix` names the block in errors ("kafka.").
 */
export function parseKafkaConnection(raw: unknown, clientId: string, prefix = 'kafka.', extraKeys: readonly string[] = []): KafkaConnectionSettings {
  const o = raw ?? {};
  if (!isObj(o)) throw new ConfigError(`${prefix.replace(/\.$/, '')}: must be an object`);
  strictKeys(o, prefix, [...CONNECTION_KEYS, ...extraKeys]);
  let brokers: readonly string[] = DEFAULT_BROKERS;
  if (o.brokers !== undefined) {
    if (!Array.isArray(o.brokers)) throw new ConfigError(`${prefix}brokers: must be an array of host:port`);
    if (o.brokers.length === 0) throw new ConfigError(`${prefix}brokers: must list at least one broker`);
    brokers = o.brokers.map((b: unknown, i) => {
      if (typeof b !== 'string' || !BROKER_RE.test(b)) throw new ConfigError(`${prefix}brokers[${i}]: must be host:port`);
      return b;
    });
  }
  let tls: boolean | TlsFiles = false;
  if (typeof o.tls === 'boolean') tls = o.tls;
  else if (o.tls !== undefined) {
    if (!isObj(o.tls)) throw new ConfigError(`${prefix}tls: must be true, false or an object {caFile, certFile, keyFile, servername, rejectUnauthorized}`);
    const t = o.tls;
    const p = `${prefix}tls.`;
    strictKeys(t, p, ['caFile', 'certFile', 'keyFile', 'servername', 'rejectUnauthorized']);
    if (t.rejectUnauthorized !== undefined && typeof t.rejectUnauthorized !== 'boolean') throw new ConfigError(`${p}rejectUnauthorized: must be true or false`);
    const files: { -readonly [K in keyof TlsFiles]: TlsFiles[K] } = { rejectUnauthorized: t.rejectUnauthorized !== false };
    for (const k of ['caFile', 'certFile', 'keyFile', 'servername'] as const) {
      const v = str(t, p, k);
      if (v !== undefined) files[k] = v;
    }
    tls = Object.freeze(files);
  }
  let sasl: SaslSettings | undefined;
  if (o.sasl !== undefined) {
    if (!isObj(o.sasl)) throw new ConfigError(`${prefix}sasl: must be an object {mechanism, username, passwordFile | passwordEnv}`);
    const s = o.sasl;
    const p = `${prefix}sasl.`;
    strictKeys(s, p, ['mechanism', 'username', 'passwordFile', 'passwordEnv']);
    if (typeof s.mechanism !== 'string' || !(SASL_MECHANISMS as readonly string[]).includes(s.mechanism)) throw new ConfigError(`${p}mechanism: must be one of ${SASL_MECHANISMS.join(', ')}`);
    const username = str(s, p, 'username');
    if (username === undefined) throw new ConfigError(`${p}username: required`);
    const passwordFile = str(s, p, 'passwordFile');
    const passwordEnv = str(s, p, 'passwordEnv') ?? DEFAULT_PASSWORD_ENV;
    if (!ENV_NAME_RE.test(passwordEnv)) throw new ConfigError(`${p}passwordEnv: must be an environment variable name`);
    sasl = Object.freeze({ mechanism: s.mechanism as SaslMechanism, username, ...(passwordFile !== undefined ? { passwordFile } : {}), passwordEnv });
  }
  return Object.freeze({
    brokers: Object.freeze([...brokers]),
    clientId: str(o, prefix, 'clientId', 128) ?? clientId,
    tls,
    ...(sasl ? { sasl } : {}),
    connectionTimeout: duration(o, prefix, 'connectionTimeout', DEFAULT_CONNECTION_TIMEOUT_MS),
    requestTimeout: duration(o, prefix, 'requestTimeout', DEFAULT_REQUEST_TIMEOUT_MS),
  });
}
