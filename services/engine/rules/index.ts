/**
 * The alert registry: one line per alert folder. Everything alert-specific derives from this list (see
 * definition.ts): the policy schema, the engine's rules, the state horizon, gauges, generated rules and runbooks.
 * Order is the tie-break for transitions at the same instant.
 */
import type { AnyRuleDefinition } from './definition.js';
import codesignKeychainFailures, { METRIC as KEYCHAIN_FAILURES } from './codesign_keychain_failures/index.js';
import unlockLatencyP95, { METRIC_P95, METRIC_SAMPLES } from './unlock_latency_p95/index.js';
import certExpiry, { METRIC as CERT_DAYS } from './cert_expiry/index.js';
import clockSkew, { METRIC as CLOCK_OFFSET } from './clock_skew/index.js';
import aclOutsideWindow from './acl_outside_window/index.js';
import parityDrift, { METRIC as PARITY_DRIFT } from './parity_drift/index.js';
import distributionKeyOnCompileHost from './distribution_key_on_compile_host/index.js';
import clockUnverified, { METRIC as CLOCK_PROBE_FAILURES } from './clock_unverified/index.js';
import hostSilent, { METRIC as HOST_SILENCE } from './host_silent/index.js';
import spoolDropped, { METRIC as SPOOL_DROPPED, TOTAL_METRIC as SPOOL_DROPPED_TOTAL } from './spool_dropped/index.js';
import notaryAppleOutage, { METRIC as NOTARY_APPLE } from './notary_apple_outage/index.js';
import notaryOurFailures, { METRIC as NOTARY_OURS } from './notary_our_failures/index.js';
import certRevoked, { METRIC as CERT_REVOKED } from './cert_revoked/index.js';
import regionSilent, { METRIC as REGION_SILENCE } from './region_silent/index.js';

export const RULES = [
  codesignKeychainFailures,
  unlockLatencyP95,
  certExpiry,
  clockSkew,
  aclOutsideWindow,
  parityDrift,
  distributionKeyOnCompileHost,
  clockUnverified,
  hostSilent,
  spoolDropped,
  notaryAppleOutage,
  notaryOurFailures,
  certRevoked,
  regionSilent,
] as const;

export type Registry = readonly AnyRuleDefinition[];

/** The alerts' gauge names, for dashboards and tests (each is declared in its alert's folder). */
export const ALERT_METRICS = {
  keychainFailures: KEYCHAIN_FAILURES, // {region}
  unlockP95: METRIC_P95, // {region}
  unlockSamples: METRIC_SAMPLES, // {region}
  certDaysToExpiry: CERT_DAYS, // {region, sha1, subject}
  clockOffset: CLOCK_OFFSET, // {region, host}
  parityDrift: PARITY_DRIFT, // {region}
  clockProbeFailures: CLOCK_PROBE_FAILURES, // {region, host}
  hostSilence: HOST_SILENCE, // {region, host}
  spoolDropped: SPOOL_DROPPED, // {region, host}
  spoolDroppedTotal: SPOOL_DROPPED_TOTAL, // {region, host}
  notaryAppleFailures: NOTARY_APPLE, // {region}
  notaryOurFailures: NOTARY_OURS, // {region}
  certRevokedHosts: CERT_REVOKED, // {region, sha1, subject}
  regionSilence: REGION_SILENCE, // {region}
} as const;
