/**
 * What every alert's policy block shares (each alert's own keys are in its folder, services/engine/rules/<alert>/):
 * `enabled`, `severity` (critical pages, warning warns, ticket opens one ticket per subject) and an optional
 * `runbook` URL that overrides the default link. services/engine/policy.ts assembles the blocks into the policy.
 */
import { z } from 'zod';
import { DurationMs } from '../services/platform/validation.js';

export const Severity = z.enum(['critical', 'warning', 'ticket']);
export type Severity = z.infer<typeof Severity>;

/**
 * The keys every alert block has, with the alert's defaults: severity, and damping with Prometheus' semantics, exact
 * in event time (services/engine/rule.ts): `for` (the condition must hold this long before the alert fires) and
 * `keepFiringFor` (a firing alert resolves only once the condition has been false this long). `freezes`: whether a
 * firing freezes the region's releases (default: every critical alert).
 */
export const alertBase = (severity: Severity, damping: { for?: number; keepFiringFor?: number } = {}) => ({
  enabled: z.boolean().default(true),
  runbook: z.string().min(1).optional(),
  severity: Severity.default(severity),
  for: DurationMs.default(damping.for ?? 0),
  keepFiringFor: DurationMs.default(damping.keepFiringFor ?? 0),
  freezes: z.boolean().optional(),
});

export interface AlertBase {
  readonly enabled: boolean;
  readonly runbook?: string | undefined;
  readonly severity: Severity;
  readonly for: number;
  readonly keepFiringFor: number;
  /** undefined: the default (critical alerts freeze). */
  readonly freezes?: boolean | undefined;
}

/** Whether a firing of this alert freezes its region's releases. */
export const freezesReleases = (cfg: AlertBase): boolean => cfg.freezes ?? cfg.severity === 'critical';

/** The damping the engine applies to an alert (services/engine/rule.ts). */
export const dampingOf = (cfg: AlertBase): { forMs: number; keepFiringForMs: number } => ({ forMs: cfg.for, keepFiringForMs: cfg.keepFiringFor });
