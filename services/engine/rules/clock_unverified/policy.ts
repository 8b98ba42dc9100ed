/** Policy block `alerts.clock_unverified` (NTP discipline: a clock nobody can measure may be wrong unnoticed). */
import { z } from 'zod';
import { alertBase } from '../../../../schemas/alert.js';
import { DurationMs } from '../../../platform/validation.js';

export const policy = z
  .strictObject({
    // `for`: how long every probe must have failed before it fires (the probes come every few minutes)
    ...alertBase('warning', { for: 3_600_000 }),
    /** A host with no probe at all for this long is forgotten (host_silent watches hosts that stopped reporting). */
    forgetAfter: DurationMs.default(86_400_000),
  })
  .prefault({});

export type Config = z.output<typeof policy>;
