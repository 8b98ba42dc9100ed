/**
 * One scenario that fires every alert of the registry and then resolves every one, in two phases on one event-time
 * line (used by test/unit/alerting/every-alert.test.ts through replay and test/integration/alerting/every-alert.test.ts
 * through the live processor, the notifier, the gate, /metrics and real Prometheus):
 *
 *   phase 1 (t0 … t0+20m)    each alert's cause, on its own host or region, still true at the end of the phase
 *   phase 2 (t0+26h … +10m)  each cause gone: time passed (windows, holds, the 1-day compile-host memory), the
 *                            replacement certificate reported, the old ones out of every inventory, clocks in limit,
 *                            the drifting host back on the fleet's wrapper, every host heartbeating again
 *
 * Policy: `for`/`keepFiringFor` 0 for every alert (damping is proven exact elsewhere: property and promtool tests), so
 * that phase 1's state is "firing" for every alert when the phase ends.
 */
import type { Region, SignEvent } from '../../schemas/events.js';
import { acl, cert, clock, clockFail, heartbeat, kcFail, min, notarize, unlock } from '../unit/engine/helpers.js';
import { loadPolicy, parsePolicy, type Policy } from '../../services/engine/policy.js';

const GOOD = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);
export const SHA = { expiring: 'A'.repeat(40), replacement: 'B'.repeat(40), revoked: 'C'.repeat(40), distribution: 'D'.repeat(40) };
const HOURS = 3_600_000;

/** Every host that heartbeats, and its region. */
const HB_HOSTS: [Region, string][] = [
  ['HK', 'mini-hk-01'],
  ['HK', 'mini-hk-02'],
  ['KR', 'mini-kr-01'],
  ['KR', 'mini-kr-02'],
  ['KR', 'mini-kr-03'],
  ['KR', 'mini-kr-04'], // drifts: another wrapper in phase 1
  ['SG', 'mini-sg-01'],
  ['SG', 'mini-sg-02'], // falls silent in phase 1
  ['US', 'mini-us-01'], // holds the expiring and the revoked certificate
  ['US', 'mini-us-02'],
  ['JP', 'mini-jp-01'], // its region falls silent in phase 1 (JP sends only clock probes after t0)
];

/** The policy of the scenario as a policy file holds it: the committed one, undamped. */
export function everyAlertPolicyInput(): Record<string, unknown> {
  const p = structuredClone(loadPolicy()) as unknown as { alerts: Record<string, Record<string, unknown>> };
  for (const a of Object.keys(p.alerts)) p.alerts[a] = { ...p.alerts[a], for: 0, keepFiringFor: 0 };
  return p;
}

export function everyAlertPolicy(): Readonly<Policy> {
  return parsePolicy(everyAlertPolicyInput(), 'every-alert policy');
}

export interface EveryAlertScenario {
  phase1: SignEvent[];
  phase2: SignEvent[];
  /** The region each alert fires in (the gate and the freeze flag are per region). */
  regionOf: Record<string, Region>;
}

export function everyAlertScenario(t0: number): EveryAlertScenario {
  const p1: SignEvent[] = [];
  const inv = (host: string, phase: 1 | 2): string[] | undefined => (host === 'mini-us-01' ? (phase === 1 ? [SHA.expiring, SHA.revoked] : [SHA.replacement]) : undefined);
  for (let m = 0; m <= 20; m += 5) {
    for (const [region, host] of HB_HOSTS) {
      if (host === 'mini-sg-02' && m > 0) continue;
      if (region === 'JP' && m > 0) continue;
      p1.push(heartbeat(t0 + min(m) + 1000, host, host === 'mini-kr-04' ? OTHER : GOOD, region, host === 'mini-kr-01' && m >= 5 ? 3 : undefined, inv(host, 1)));
    }
    if (m > 0) p1.push(clock(t0 + min(m) + 2000, 5000, 'JP', 'mini-jp-01')); // JP's clock moves, its heartbeats do not
  }
  p1.push(
    ...[1, 2, 3].map((m) => kcFail(t0 + min(m), 'HK', 'mini-hk-01')),
    acl(t0 + min(4), false, 'HK', 'mini-hk-02'),
    ...[1, 2, 3, 4, 5, 6].map((m) => unlock(t0 + min(m) + 500, 2000, 'SG', 'mini-sg-01')),
    cert(t0 + min(1), t0 + 10 * 24 * HOURS, 'US', 'mini-us-01', SHA.expiring),
    cert(t0 + min(1) + 1, t0 + 300 * 24 * HOURS, 'US', 'mini-us-01', SHA.revoked, 'signing', true),
    clockFail(t0 + min(6), 'JP', 'mini-jp-02'),
    cert(t0 + min(2), t0 + 300 * 24 * HOURS, 'KR', 'build-kr-01', SHA.distribution, 'compile'),
    notarize(t0 + min(3), ['apple_api', 'apple_api', 'network', 'apple_api', 'apple_api', 'apple_api'], null, 'US', 'mini-us-02'),
    notarize(t0 + min(4), [], 'auth', 'US', 'mini-us-02'),
  );
  const t1 = t0 + 26 * HOURS;
  const p2: SignEvent[] = [cert(t1 + 500, t1 + 300 * 24 * HOURS, 'US', 'mini-us-01', SHA.replacement)];
  for (let m = 0; m <= 10; m += 5) {
    for (const [region, host] of HB_HOSTS) p2.push(heartbeat(t1 + min(m) + 1000, host, GOOD, region, undefined, inv(host, 2))); // kr-01: a total from over a day ago counts as new: none sent
    p2.push(clock(t1 + min(m) + 2000, 10, 'JP', 'mini-jp-01'), clock(t1 + min(m) + 2500, 12, 'JP', 'mini-jp-02'));
  }
  const byTime = (a: SignEvent, b: SignEvent) => Date.parse(a.ts) - Date.parse(b.ts);
  return {
    phase1: p1.sort(byTime),
    phase2: p2.sort(byTime),
    regionOf: {
      codesign_keychain_failures: 'HK',
      acl_outside_window: 'HK',
      unlock_latency_p95: 'SG',
      host_silent: 'SG',
      cert_expiry: 'US',
      cert_revoked: 'US',
      notary_apple_outage: 'US',
      notary_our_failures: 'US',
      clock_skew: 'JP',
      clock_unverified: 'JP',
      region_silent: 'JP',
      distribution_key_on_compile_host: 'KR',
      spool_dropped: 'KR',
      parity_drift: 'KR',
    },
  };
}
