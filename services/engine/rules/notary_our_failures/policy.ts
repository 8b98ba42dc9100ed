/** Policy block `alerts.notary_our_failures` (notarization failures that are ours: credentials, keychain). */
import { z } from 'zod';
import { alertBase } from '../../../../schemas/alert.js';
import { DurationMs } from '../../../platform/validation.js';

export const policy = z
  .strictObject({
    ...alertBase('warning'),
    /** Fires when more than this many submissions failed on our side (auth, keychain) in the window. */
    threshold: z.number().int().nonnegative().default(0),
    window: DurationMs.default(3_600_000),
  })
  .prefault({});

export type Config = z.output<typeof policy>;
