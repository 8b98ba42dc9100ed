/** Policy block `alerts.parity_drift` (the same wrapper, keychain path, search list and team IDs on every host). */
import { z } from 'zod';
import { alertBase } from '../../../../schemas/alert.js';
import { DurationMs } from '../../../platform/validation.js';

export const policy = z
  .strictObject({
    ...alertBase('warning'),
    /** Heartbeats older than this no longer take part in the region's majority. */
    staleAfter: DurationMs.default(7_200_000),
  })
  .prefault({});

export type Config = z.output<typeof policy>;
