/**
 * The one way signwatch turns a zod failure into words and a validated value into config: every issue as
 * `<source>: <key.path>: <reason>` (unknown keys named as such, a union such as a duration says what its closest
 * branch wanted instead of "Invalid input"), and the parsed value deep-frozen.
 */
import { z } from 'zod';
import { DURATION_EXAMPLES, parseDuration } from './duration.js';
import { ConfigError, type ErrorCode } from './errors.js';

/** zod type of a duration in config and policy files: "5m" or a non-negative integer of ms; outputs milliseconds. */
export const DurationMs = z.union([
  z.number().int().nonnegative(),
  z.string().transform((s, ctx) => {
    const ms = parseDuration(s);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${s}" is not a duration (use e.g. ${DURATION_EXAMPLES})` });
      return z.NEVER;
    }
    return ms;
  }),
]);

/** The words for one issue, without its path. */
export function issueMessage(i: z.core.$ZodIssue): string {
  if (i.code === 'unrecognized_keys') return 'unknown key';
  if (i.code === 'invalid_union') {
    const inner = i.errors.flat().filter((e) => e.code !== 'invalid_type');
    if (inner.length) return inner.map((e) => e.message).join('; ');
  }
  return i.message;
}

/** The dotted key path of an issue ("alerts.unlock_latency_p95.thresholdMs", "(root)" at the top). */
export function issuePath(i: z.core.$ZodIssue): string {
  return i.path.length ? i.path.map(String).join('.') : '(root)';
}

/** Issues with one unknown key each (zod reports several unknown keys of one object as one issue). */
export function splitIssues(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  return issues.flatMap((i): z.core.$ZodIssue[] => (i.code === 'unrecognized_keys' ? i.keys.map((k) => ({ ...i, keys: [k], path: [...i.path, k] })) : [i]));
}

/** Every issue on its own line: `<source>: <path>: <reason>` (`limit` caps the list). */
export function formatIssues(error: z.ZodError, source: string, limit = 20, sep = '\n'): string {
  const issues = splitIssues(error.issues);
  const lines = issues.slice(0, limit).map((i) => `${source ? `${source}: ` : ''}${issuePath(i)}: ${issueMessage(i)}`);
  if (issues.length > limit) lines.push(`${source ? `${source}: ` : ''}… and ${issues.length - limit} more`);
  return lines.join(sep);
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Validate `input` with `schema` and freeze it; a failure is a ConfigError (or `code`) listing every issue. */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, source: string, code: ErrorCode = 'SW_CONFIG_INVALID'): Readonly<z.output<S>> {
  const r = schema.safeParse(input ?? {});
  if (!r.success) throw new ConfigError(formatIssues(r.error, source), { code });
  return deepFreeze(r.data);
}
