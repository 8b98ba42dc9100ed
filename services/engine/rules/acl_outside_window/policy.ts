/** Policy block `alerts.acl_outside_window` (set-key-partition-list outside a declared maintenance window is suspicious). */
import { z } from 'zod';
import { alertBase } from '../../../../schemas/alert.js';
import { DurationMs } from '../../../platform/validation.js';

export const policy = z
  .strictObject({
    ...alertBase('warning'),
    /** A set-key-partition-list outside a declared maintenance window keeps this alert firing this long. */
    holdFor: DurationMs.default(3_600_000),
  })
  .prefault({});

export type Config = z.output<typeof policy>;
