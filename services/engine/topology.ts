/**
 * The engine's rules, one line each. Adding an alert = a new file in rules/ + one line here
 * (+ its policy block in schemas/policy.ts). Order is the tie-break for transitions at the same instant.
 */
import type { RuleFactory } from './rule.js';
import { keychainFailures } from './rules/keychain-failures.js';
import { unlockLatency } from './rules/unlock-latency.js';
import { certExpiry } from './rules/cert-expiry.js';
import { clockSkew } from './rules/clock-skew.js';
import { aclOutsideWindow } from './rules/acl-outside-window.js';
import { parityDrift } from './rules/parity-drift.js';
import { distributionKey } from './rules/distribution-key.js';

export const RULES: readonly RuleFactory[] = [
  keychainFailures,
  unlockLatency,
  certExpiry,
  clockSkew,
  aclOutsideWindow,
  parityDrift,
  distributionKey,
];
