/** Policy block `alerts.distribution_key_on_compile_host` (distribution keys must not exist on compile-pool hosts). */
import { z } from 'zod';
import { alertBase } from '../../../../schemas/alert.js';
import { DurationMs } from '../../../platform/validation.js';

export const policy = z
  .strictObject({
    ...alertBase('critical'),
    /** certKind prefixes that count as distribution keys. */
    kinds: z.array(z.string().min(1)).default(['Apple Distribution', 'iPhone Distribution', 'Developer ID Application', 'Developer ID Installer', '3rd Party Mac Developer']),
    staleAfter: DurationMs.default(86_400_000),
  })
  .prefault({});

export type Config = z.output<typeof policy>;
