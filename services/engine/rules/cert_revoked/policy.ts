/** Policy block `alerts.cert_revoked` (a revoked signing certificate breaks every build that picks it). */
import { z } from 'zod';
import { alertBase } from '../../../../schemas/alert.js';
import { DurationMs } from '../../../platform/validation.js';

export const policy = z
  .strictObject({
    ...alertBase('critical'),
    /** A host's evidence of a certificate counts as present for this long. */
    staleAfter: DurationMs.default(86_400_000),
    /** A certificate with no evidence at all for this long is forgotten. */
    forgetAfter: DurationMs.default(30 * 86_400_000),
  })
  .prefault({});

export type Config = z.output<typeof policy>;
