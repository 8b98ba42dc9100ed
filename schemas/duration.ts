/** Durations in config and policy files: the platform's one grammar (services/platform/duration.ts) as a zod type. */
import { z } from 'zod';
import { DURATION_EXAMPLES, parseDuration } from '../services/platform/duration.js';

export { formatDuration, parseDuration } from '../services/platform/duration.js';

/** zod type: accepts "5m" or a non-negative integer of ms; outputs milliseconds. */
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
