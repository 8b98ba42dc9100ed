/** Policy block `alerts.unlock_latency_p95` (source article: "unlock helper p95 > 800 ms over the trailing hour → warning"). */
import { z } from 'zod';
import { alertBase } from '../../../../schemas/alert.js';
import { DurationMs } from '../../../platform/validation.js';

export const policy = z
  .strictObject({
    ...alertBase('warning', { for: 120_000, keepFiringFor: 600_000 }),
    thresholdMs: z.number().positive().default(800),
    quantile: z.number().gt(0).lt(1).default(0.95),
    minSamples: z.number().int().positive().default(5),
    window: DurationMs.default(3_600_000),
  })
  .prefault({});

export type Config = z.output<typeof policy>;
