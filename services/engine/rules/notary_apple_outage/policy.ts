/** Policy block `alerts.notary_apple_outage` (source article: separate genuine Apple API outages from our failures). */
import { z } from 'zod';
import { alertBase } from '../../../../schemas/alert.js';
import { DurationMs } from '../../../platform/validation.js';

export const policy = z
  .strictObject({
    ...alertBase('warning'),
    /** Fires when more than this many Apple-side failed attempts (HTTP 429/5xx, network) are in the window. */
    threshold: z.number().int().nonnegative().default(5),
    window: DurationMs.default(3_600_000),
  })
  .prefault({});

export type Config = z.output<typeof policy>;
