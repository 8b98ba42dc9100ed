/** Policy block `alerts.clock_skew` (NTP discipline: skew breaks notarization timestamps). */
import { z } from 'zod';
import { alertBase } from '../../../../schemas/alert.js';
import { DurationMs } from '../../../platform/validation.js';

export const policy = z
  .strictObject({
    ...alertBase('warning'),
    /** |sntp offset| above this on a host's latest probe fires (notarization timestamps break). */
    maxOffsetMs: z.number().positive().default(1000),
    /** A future-stamped event from the host keeps the alert firing this long (region clock). */
    futureHold: DurationMs.default(3_600_000),
    /** A host with no successful probe for this long is forgotten (bounds memory and the rebuild). */
    forgetAfter: DurationMs.default(86_400_000),
  })
  .prefault({});

export type Config = z.output<typeof policy>;
