/** Policy block `alerts.codesign_keychain_failures` (source article: "> 2 in the trailing hour, per region → page; freeze releases"). */
import { z } from 'zod';
import { alertBase } from '../../../../schemas/alert.js';
import { DurationMs } from '../../../platform/validation.js';

export const policy = z
  .strictObject({
    ...alertBase('critical'),
    /** Fires when the count of keychain-class codesign failures in the trailing window is > threshold. */
    threshold: z.number().int().nonnegative().default(2),
    window: DurationMs.default(3_600_000),
    /** Deprecated alias of `freezes` (every alert's key); kept so that older policy files still load. */
    freezeReleases: z.boolean().optional(),
  })
  .prefault({});

export type Config = z.output<typeof policy>;

/** `freezes` (every alert's key), else the deprecated `freezeReleases`, else: critical freezes. */
export const freezes = (cfg: Config): boolean => cfg.freezes ?? cfg.freezeReleases ?? cfg.severity === 'critical';
