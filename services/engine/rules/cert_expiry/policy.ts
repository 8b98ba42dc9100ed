/** Policy block `alerts.cert_expiry` (source article: "< 21 days to notAfter → ticket the rotation, one ticket per certificate"). */
import { z } from 'zod';
import { alertBase } from '../../../../schemas/alert.js';
import { DurationMs } from '../../../platform/validation.js';

export const policy = z
  .strictObject({
    ...alertBase('ticket'),
    /** Fires when notAfter − now < days. */
    days: z.number().positive().default(21),
    /** A host's evidence of a certificate (a report, or an inventory listing it) counts as present for this long. */
    staleAfter: DurationMs.default(86_400_000),
    /** A certificate with no evidence at all for this long is forgotten (bounds memory and the rebuild). */
    forgetAfter: DurationMs.default(30 * 86_400_000),
  })
  .prefault({});

export type Config = z.output<typeof policy>;
