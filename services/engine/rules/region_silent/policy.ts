/** Policy block `alerts.region_silent` (a whole region stopped heartbeating: down, or cut off from Kafka). */
import { z } from 'zod';
import { alertBase } from '../../../../schemas/alert.js';
import { DurationMs } from '../../../platform/validation.js';

export const policy = z
  .strictObject({
    ...alertBase('critical'),
    /** No heartbeat from any host of the region for this long fires. */
    silentAfter: DurationMs.default(900_000),
    /** A region silent this long is forgotten: the alert resolves, saying so. */
    forgetAfter: DurationMs.default(3 * 86_400_000),
  })
  .prefault({});

export type Config = z.output<typeof policy>;
