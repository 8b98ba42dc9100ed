/**
 * Random event streams of the engine's property tests (property.test.ts, state.test.ts): every event type, out of
 * order, late, duplicated, on window and staleness edges, in two regions.
 */
import fc from 'fast-check';
import type { SignEvent } from '../../../schemas/events.js';
import { T0, min, day, kcFail, csOk, unlock, cert, clock, clockFail, heartbeat, acl, notarize, revokedUse, verifyFail } from './helpers.js';

export const policyInput = {
  allowedLateness: '5m',
  hourlyRetention: '3h',
  alerts: {
    unlock_latency_p95: { minSamples: 3, for: 0, keepFiringFor: 0 },
    cert_expiry: { staleAfter: '2h', forgetAfter: '5h' },
    cert_revoked: { staleAfter: '90m', forgetAfter: '4h' },
    parity_drift: { staleAfter: '1h' },
    distribution_key_on_compile_host: { staleAfter: '90m' },
    acl_outside_window: { holdFor: '30m' },
    clock_skew: { forgetAfter: '150m' },
    clock_unverified: { for: 0, forgetAfter: '100m' },
    host_silent: { silentAfter: '40m', forgetAfter: '170m' },
    region_silent: { silentAfter: '50m', forgetAfter: '160m' },
    spool_dropped: { holdFor: '30m', forgetAfter: '120m' },
    notary_apple_outage: { threshold: 2, window: '30m' },
    notary_our_failures: { threshold: 0, window: '20m' },
  } as Record<string, Record<string, unknown>>,
};

export const REG = ['HK', 'JP'] as const;
export const op = fc.record({
  kind: fc.constantFrom('kc', 'kc', 'kc', 'ok', 'unlock', 'unlock', 'cert', 'cert', 'clock', 'clockfail', 'hb', 'hb', 'acl', 'dup', 'notarize', 'notarize', 'verify', 'revokedUse'),
  revoked: fc.constantFrom(undefined, false, false, true),
  inventory: fc.constantFrom(undefined, undefined, [], ['A'.repeat(40)], ['B'.repeat(40)], ['A'.repeat(40), 'B'.repeat(40)]),
  dropped: fc.constantFrom(undefined, 0, 0, 3, 3, 7, 2),
  attempts: fc.array(fc.constantFrom('apple_api', 'network', 'auth', 'other'), { maxLength: 3 }),
  final: fc.constantFrom(null, null, 'apple_api', 'network', 'auth', 'keychain', 'other'),
  dt: fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 0, max: min(25) }) }, { weight: 1, arbitrary: fc.integer({ min: min(50), max: min(200) }) }, { weight: 2, arbitrary: fc.constantFrom(0, 1, min(60), min(60) - 1, min(60) + 1) }),
  back: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: min(12) }) }, { weight: 1, arbitrary: fc.constantFrom(min(5), min(5) + 1) }),
  region: fc.integer({ min: 0, max: 1 }),
  host: fc.integer({ min: 0, max: 2 }),
  ms: fc.constantFrom(100, 500, 800, 801, 900, 2000),
  certOffset: fc.integer({ min: -min(180), max: min(180) }),
  sha: fc.integer({ min: 0, max: 1 }),
  compile: fc.boolean(),
  skew: fc.constantFrom(0, 999, 1000, 1001, -1500),
  declared: fc.boolean(),
  wrapper: fc.integer({ min: 0, max: 3 }),
  secret: fc.constantFrom('v7', 'v7', 'v7', 'v8'),
  profile: fc.constantFrom(undefined, 'asc-hk', 'asc-hk', 'asc-jp'),
  pick: fc.nat(),
});

export type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

export function build(ops: Op[]): SignEvent[] {
  const out: SignEvent[] = [];
  let t = T0;
  for (const o of ops as unknown as Array<Record<string, number | boolean | string>>) {
    t += o.dt as number;
    const ts = t - (o.back as number);
    const region = REG[o.region as number]!;
    const host = `mini-${region.toLowerCase()}-0${o.host as number}`;
    switch (o.kind) {
      case 'kc': out.push(kcFail(ts, region, host)); break;
      case 'ok': out.push(csOk(ts, region, host)); break;
      case 'unlock': out.push(unlock(ts, o.ms as number, region, host)); break;
      case 'cert': {
        const sha = String(o.sha) === '0' ? 'A'.repeat(40) : 'B'.repeat(40);
        out.push(cert(ts, T0 + day(21) + (o.certOffset as number) + min(100) * (o.sha as number), region, o.compile ? `build-${region.toLowerCase()}-01` : host, sha, o.compile ? 'compile' : 'signing', o.revoked as unknown as boolean | undefined));
        break;
      }
      case 'clock': out.push(clock(ts, o.skew as number, region, host)); break;
      case 'clockfail': out.push(clockFail(ts, region, host)); break;
      case 'hb': {
        const hb = heartbeat(ts, host, String(o.wrapper).repeat(64).slice(0, 64).replace(/[^0-9a-f]/g, 'a'), region, o.dropped as unknown as number | undefined, o.inventory as unknown as string[] | undefined);
        out.push({ ...hb, secretVersion: String(o.secret), ...(o.profile !== undefined ? { notaryProfile: String(o.profile) } : {}) });
        break;
      }
      case 'revokedUse': out.push(revokedUse(ts, String(o.sha) === '0' ? 'A'.repeat(40) : 'B'.repeat(40), region, host)); break;
      case 'notarize': out.push(notarize(ts, o.attempts as unknown as ('apple_api' | 'network' | 'auth' | 'other')[], o.final as unknown as 'apple_api' | null, region, host)); break;
      case 'verify': out.push(verifyFail(ts, region, host)); break;
      case 'acl': out.push(acl(ts, o.declared as boolean, region, host)); break;
      case 'dup': if (out.length) out.push(out[(o.pick as number) % out.length]!); break;
    }
  }
  return out;
}

