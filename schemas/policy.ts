/**
 * The alert policy: the only place a threshold is written. Defaults come from the source article.
 * Everything else (engine, notifiers, Prometheus/Grafana rules, dashboard thresholds) reads the parsed policy.
 * Durations may be written as "5m", "1h", "21d"; the parsed policy holds milliseconds and is frozen.
 */
import { z } from 'zod';
import { DurationMs } from './duration.js';

export const Severity = z.enum(['critical', 'warning', 'ticket']);
export type Severity = z.infer<typeof Severity>;

const common = {
  enabled: z.boolean().default(true),
  runbook: z.string().min(1).optional(),
};

export const Policy = z.strictObject({
  version: z.literal(1).default(1),
  /** Events older than the region's watermark by more than this are late: stored and aggregated, never paged. */
  allowedLateness: DurationMs.default(300_000),
  /** How long closed hourly buckets stay revisable by late events (and how long event ids are remembered). */
  hourlyRetention: DurationMs.default(21_600_000),
  /** Base URLs used in page links. */
  links: z
    .strictObject({
      runbookBase: z.string().default('https://github.com/signwatch/signwatch/blob/main/alerts/runbooks/'),
      grafanaBase: z.string().default('http://127.0.0.1:3000'),
    })
    .prefault({}),
  alerts: z
    .strictObject({
      codesign_keychain_failures: z
        .strictObject({
          ...common,
          /** Fires when the count of keychain-class codesign failures in the trailing window is > threshold. */
          threshold: z.number().int().nonnegative().default(2),
          window: DurationMs.default(3_600_000),
          severity: Severity.default('critical'),
          freezeReleases: z.boolean().default(true),
        })
        .prefault({}),
      unlock_latency_p95: z
        .strictObject({
          ...common,
          thresholdMs: z.number().positive().default(800),
          quantile: z.number().gt(0).lt(1).default(0.95),
          minSamples: z.number().int().positive().default(5),
          window: DurationMs.default(3_600_000),
          severity: Severity.default('warning'),
        })
        .prefault({}),
      cert_expiry: z
        .strictObject({
          ...common,
          /** Fires when notAfter − now < days. */
          days: z.number().positive().default(21),
          /** A certificate no host reported for this long is considered replaced. */
          staleAfter: DurationMs.default(86_400_000),
          severity: Severity.default('ticket'),
        })
        .prefault({}),
      clock_skew: z
        .strictObject({
          ...common,
          /** |sntp offset| above this on a host's latest probe fires (notarization timestamps break). */
          maxOffsetMs: z.number().positive().default(1000),
          severity: Severity.default('warning'),
        })
        .prefault({}),
      acl_outside_window: z
        .strictObject({
          ...common,
          /** A set-key-partition-list outside a declared maintenance window keeps this alert firing this long. */
          holdFor: DurationMs.default(3_600_000),
          severity: Severity.default('warning'),
        })
        .prefault({}),
      parity_drift: z
        .strictObject({
          ...common,
          /** Heartbeats older than this no longer take part in the region's majority. */
          staleAfter: DurationMs.default(7_200_000),
          severity: Severity.default('warning'),
        })
        .prefault({}),
      distribution_key_on_compile_host: z
        .strictObject({
          ...common,
          /** certKind prefixes that count as distribution keys. */
          kinds: z.array(z.string().min(1)).default(['Apple Distribution', 'iPhone Distribution', 'Developer ID Application', 'Developer ID Installer', '3rd Party Mac Developer']),
          staleAfter: DurationMs.default(86_400_000),
          severity: Severity.default('critical'),
        })
        .prefault({}),
    })
    .prefault({}),
});

export type Policy = z.infer<typeof Policy>;
export type AlertName = keyof Policy['alerts'];
export const ALERT_NAMES = Object.keys(Policy.shape.alerts.unwrap().shape) as AlertName[];

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** For a union (e.g. a duration: number or "5m"), say what the closest branch wanted rather than "Invalid input". */
function issueMessage(i: z.core.$ZodIssue): string {
  if (i.code === 'invalid_union') {
    const inner = i.errors.flat().filter((e) => e.code !== 'invalid_type');
    if (inner.length) return inner.map((e) => e.message).join('; ');
  }
  return i.message;
}

export class PolicyError extends Error {
  readonly code = 'SW_POLICY_INVALID';
  readonly retryable = false;
}

/** Parse and freeze a policy; errors name the offending key path (alerts.unlock_latency_p95.thresholdMs: …). */
export function parsePolicy(input: unknown, source = 'policy'): Readonly<Policy> {
  const r = Policy.safeParse(input ?? {});
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${source}: ${i.path.join('.') || '(root)'}: ${issueMessage(i)}`).join('\n');
    throw new PolicyError(msg);
  }
  return deepFreeze(r.data);
}

export const defaultPolicy = (): Readonly<Policy> => parsePolicy({});
