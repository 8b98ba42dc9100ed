/**
 * What every alert's policy block shares (each alert's own keys are in its folder, services/engine/rules/<alert>/):
 * `enabled`, `severity` (critical pages, warning warns, ticket opens one ticket per subject) and an optional
 * `runbook` URL that overrides the default link. schemas/policy.ts assembles the blocks into the policy.
 */
import { z } from 'zod';

export const Severity = z.enum(['critical', 'warning', 'ticket']);
export type Severity = z.infer<typeof Severity>;

/** The keys every alert block has, with the alert's default severity. */
export const alertBase = (severity: Severity) => ({
  enabled: z.boolean().default(true),
  runbook: z.string().min(1).optional(),
  severity: Severity.default(severity),
});

export interface AlertBase {
  readonly enabled: boolean;
  readonly runbook?: string | undefined;
  readonly severity: Severity;
}
