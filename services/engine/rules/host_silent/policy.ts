/** Policy block `alerts.host_silent` (a mini that does not come back after a reboot, rollout step 7). */
import { z } from 'zod';
import { alertBase } from '../../../../schemas/alert.js';
import { DurationMs } from '../../../platform/validation.js';

export const policy = z
  .strictObject({
    ...alertBase('warning'),
    /** No heartbeat for this long (heartbeats come every minute) fires. */
    silentAfter: DurationMs.default(900_000),
    /** A host silent this long is forgotten (decommissioned): the alert resolves, saying so. */
    forgetAfter: DurationMs.default(3 * 86_400_000),
  })
  .prefault({});

export type Config = z.output<typeof policy>;
