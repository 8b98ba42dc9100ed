/**
 * The alert policy (alerts/policy.yaml): the only place a threshold is written. Defaults come from the source article.
 * The policy's global keys are here; each alert's block (`alerts.<name>`) is the `policy` schema of its folder in
 * services/engine/rules/, assembled from the registry (rules/index.ts), so a new alert brings its own keys.
 * Durations may be written as "5m", "1h", "21d"; the parsed policy holds milliseconds and is frozen.
 *
 * Files: `loadPolicy(path)` / `loadPolicyFile(--policy)`; errors are coded (SW_POLICY_*), never retryable, and name
 * the file, the line and the key:
 *   alerts/policy.yaml:27: alerts.unlock_latency_p95.thresholdMs: Invalid input: expected number, received string
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DurationMs } from '../platform/validation.js';
import type { AlertBase } from '../../schemas/alert.js';
import { parseYamlText, readTextFile, validateYaml, type ConfigFileCodes } from '../platform/config-file.js';
import { ConfigError } from '../platform/errors.js';
import { deepFreeze, formatIssues } from '../platform/validation.js';
import { RULES, type Registry } from './rules/index.js';

export { Severity, type AlertBase } from '../../schemas/alert.js';

const globals = {
  version: z.literal(1).default(1),
  /** Events older than the region's watermark by more than this are late: stored and aggregated, never paged. */
  allowedLateness: DurationMs.default(300_000),
  /** How long closed hourly buckets stay revisable by late events (and how long event ids are remembered). */
  hourlyRetention: DurationMs.default(21_600_000),
  /**
   * An event stamped more than this ahead of its reference time (the broker's append time live, the record time or
   * the wall clock in replay) is a `future_timestamp`: dead-lettered, never moves a clock nor enters a window, and
   * raises its host's clock_skew (docs/engine.md, "Bounded event time").
   */
  maxFutureSkew: DurationMs.default(300_000),
  /**
   * Per-host metric series of the processor (services/processor/host-series.ts): at most `maxHosts` hosts have their
   * own series (others are folded into host "_other" and counted), and a host silent for `evictAfter` is dropped.
   */
  hostSeries: z
    .strictObject({
      maxHosts: z.number().int().min(1).max(100_000).default(2000),
      evictAfter: DurationMs.default(86_400_000),
    })
    .prefault({}),
  /** The quarterly revoke-one-certificate drill (docs/engine.md, "Drills"). */
  drill: z
    .strictObject({
      /** Whether a page of the drilled certificate raised during a drill freezes the region's releases. */
      freezes: z.boolean().default(false),
      /** The cohort: signing hosts that sent a heartbeat in this stretch before the start. */
      lookback: DurationMs.default(3_600_000),
      /** A region not green this long after the start (unless `drill start --timeout`) is red. */
      timeout: DurationMs.default(86_400_000),
    })
    .prefault({}),
  /** Base URLs used in page links. */
  links: z
    .strictObject({
      runbookBase: z.string().default('https://github.com/signwatch/signwatch/blob/main/alerts/runbooks/'),
      grafanaBase: z.string().default('http://127.0.0.1:3000'),
    })
    .prefault({}),
  /** The release gate (services/alerting/release-gate.ts): the longest manual override it accepts. */
  gate: z
    .strictObject({
      maxOverrideTtl: DurationMs.refine((ms) => ms > 0, 'must be longer than 0').default(86_400_000),
    })
    .prefault({}),
};

type Rules = (typeof RULES)[number];
type AlertsShape = { [R in Rules as R['name']]: R['policy'] };

function policySchema(rules: Registry) {
  const alerts = Object.fromEntries(rules.map((r) => [r.name, r.policy])) as unknown as AlertsShape;
  return z.strictObject({ ...globals, alerts: z.strictObject(alerts).prefault({}) });
}

/** The policy schema of the built-in registry (the generated JSON Schema is rendered from it). */
export const Policy = policySchema(RULES);
export type Policy = z.infer<typeof Policy>;
export type AlertName = Rules['name'];
export const ALERT_NAMES: readonly AlertName[] = RULES.map((r) => r.name);

const schemas = new WeakMap<Registry, z.ZodType>([[RULES, Policy]]);
/** The policy schema for a registry (tests add toy alerts; the built-in one is cached). */
export function policySchemaFor(rules: Registry): z.ZodType {
  let s = schemas.get(rules);
  if (!s) {
    s = policySchema(rules);
    schemas.set(rules, s);
  }
  return s;
}

/** One alert's block, whatever the registry (a toy alert's config is not in the Policy type). */
export function alertConfig(policy: Readonly<Policy>, name: string): AlertBase {
  const c = Object.hasOwn(policy.alerts, name) ? (policy.alerts as Record<string, AlertBase | undefined>)[name] : undefined;
  if (!c) throw new ConfigError(`policy: alerts.${name}: no such alert in this policy`);
  return c;
}

export class PolicyError extends ConfigError {
  constructor(message: string) {
    super(message, { code: 'SW_POLICY_INVALID' });
  }
}

/** Parse and freeze a policy; errors name the offending key path (alerts.unlock_latency_p95.thresholdMs: …). */
export function parsePolicy(input: unknown, source = 'policy', rules: Registry = RULES): Readonly<Policy> {
  const r = policySchemaFor(rules).safeParse(input ?? {});
  if (!r.success) throw new PolicyError(formatIssues(r.error, source));
  return deepFreeze(r.data as Policy);
}

export const defaultPolicy = (): Readonly<Policy> => parsePolicy({});

/** The policy's JSON Schema (schemas/json/policy.v1.schema.json, for editors and other tools). */
export function policyJsonSchema(): Record<string, unknown> {
  const js = z.toJSONSchema(Policy, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  return { ...js, $id: 'https://signwatch.dev/schemas/policy.v1.schema.json', title: 'signwatch alert policy (alerts/policy.yaml)' };
}

/** alerts/policy.yaml of the repository (resolved from this module, so it works from dist/ and from any cwd). */
export const DEFAULT_POLICY_PATH = fileURLToPath(new URL('../../../alerts/policy.yaml', import.meta.url));

const CODES: ConfigFileCodes = { unreadable: 'SW_POLICY_UNREADABLE', syntax: 'SW_POLICY_YAML', invalid: 'SW_POLICY_INVALID' };

/** Parse policy YAML text; `source` names the file in error messages. */
export function parsePolicyYaml(text: string, source: string, rules: Registry = RULES): Readonly<Policy> {
  return validateYaml(policySchemaFor(rules), parseYamlText(text, source, CODES), source, CODES) as Readonly<Policy>;
}

/** Read and parse a policy file. Throws a ConfigError (SW_POLICY_*) naming the file (and key) on any problem. */
export function loadPolicy(path: string = DEFAULT_POLICY_PATH, rules: Registry = RULES): Readonly<Policy> {
  return parsePolicyYaml(readTextFile(path, 'policy file', CODES.unreadable), path, rules);
}

/** --policy FILE, else alerts/policy.yaml when present, else the built-in defaults. */
export function loadPolicyFile(path: string | undefined): Readonly<Policy> {
  if (path !== undefined) return loadPolicy(path);
  if (existsSync(DEFAULT_POLICY_PATH)) return loadPolicy(DEFAULT_POLICY_PATH);
  return parsePolicy({}, 'built-in policy');
}
