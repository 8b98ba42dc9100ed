/** Policy block `alerts.cert_expiry` (source article: "< 21 days to notAfter → ticket the rotation, one ticket per certificate"). */
import { z } from 'zod';
import { alertBase } from '../../../../schemas/alert.js';
import { DurationMs } from '../../../platform/validation.js';

export const policy = z
  .strictObject({
    ...alertBase('ticket'),
    /** Fires when notAfter − now < days. */
    days: z.number().positive().default(21),
    /** A certificate no host reported for this long is considered replaced. */
    staleAfter: DurationMs.default(86_400_000),
  })
  .prefault({});

export type Config = z.output<typeof policy>;
