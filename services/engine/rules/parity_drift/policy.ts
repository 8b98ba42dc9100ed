/**
 * Policy block `alerts.parity_drift`: the same wrapper, keychain path, search list, team IDs and vault secret version
 * on every host of the fleet (the source article's rule, five-region parity), and one App Store Connect service
 * account label per region.
 */
import { z } from 'zod';
import { alertBase } from '../../../../schemas/alert.js';
import { DurationMs } from '../../../platform/validation.js';

/** The heartbeat fields parity compares. */
export const PARITY_FIELDS = ['wrapperSha256', 'keychain', 'searchList', 'teamIds', 'secretVersion', 'notaryProfile'] as const;
export type ParityField = (typeof PARITY_FIELDS)[number];

export const policy = z
  .strictObject({
    ...alertBase('warning'),
    /** Heartbeats older than this no longer take part in the majority. */
    staleAfter: DurationMs.default(7_200_000),
    /** The fields compared. */
    fields: z.array(z.enum(PARITY_FIELDS)).min(1).default([...PARITY_FIELDS]),
    /**
     * Fields that may differ between regions but must agree within one (the majority is taken per region; a region
     * split evenly drifts as a whole). Every other field is compared with the whole fleet's majority.
     */
    perRegion: z.array(z.enum(PARITY_FIELDS)).default(['notaryProfile']),
  })
  .prefault({});

export type Config = z.output<typeof policy>;
