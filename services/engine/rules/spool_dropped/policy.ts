/** Policy block `alerts.spool_dropped` (nothing lost silently: an agent whose spool overflowed lost events). */
import { z } from 'zod';
import { alertBase } from '../../../../schemas/alert.js';
import { DurationMs } from '../../../platform/validation.js';

export const policy = z
  .strictObject({
    ...alertBase('warning'),
    /** After the agent reports newly dropped events, the alert fires for this long. */
    holdFor: DurationMs.default(3_600_000),
    /** A host whose last heartbeat is older than this is forgotten (bounds memory and the rebuild). */
    forgetAfter: DurationMs.default(86_400_000),
  })
  .prefault({});

export type Config = z.output<typeof policy>;
