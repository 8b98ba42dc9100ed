/**
 * The drill scenario (seeded, reproducible): a distribution certificate is revoked at `start` and every drilled region
 * rotates to its replacement at its own pace. Each signing host heartbeats every minute with its certificate inventory
 * (`certSha1s`) and signs every few minutes; after the start its signing calls with the revoked certificate fail with
 * CSSMERR_TP_CERT_REVOKED until the host has the replacement, then succeed with it. A host of `silent` stops sending
 * anything at the start (its region stays pending until the timeout).
 *
 * Used by the drill tests (replay and the live processor) and `signwatch demo --scenario drill`. Every event has its
 * own millisecond (no two events share an instant), and the stream is in event-time order.
 */
import type { Region } from '../../schemas/events.js';
import { toIso } from '../engine/time.js';
import { rng, ulidAt } from './simulate.js';

export const REVOKED_SHA1 = 'D1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4';
export const REPLACEMENT_SHA1 = 'E1F2A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4';
const SUBJECT = 'Apple Distribution: Example Corp (ABCDE12345)';
const KEYCHAIN = '/Users/ci/Library/Keychains/signing.keychain-db';

export interface DrillRegionPlan {
  region: Region;
  /** Signing hosts of the region. */
  hosts: number;
  /** Each host rotates at start + a uniform draw in [min, max] ms. */
  rotateMin: number;
  rotateMax: number;
  /** Hosts (by name) that send nothing from the start on. */
  silent?: string[];
}

export interface DrillScenario {
  seed: number;
  /** Instant of the drill start (the revocation). */
  start: number;
  /** Events from start − lead (heartbeats before the start make the cohort). */
  lead: number;
  /** Events until start + length. */
  length: number;
  regions: DrillRegionPlan[];
  drillId: string;
  timeoutMs: number;
  by: string;
  note?: string;
}

export const hostName = (region: Region, i: number): string => `mini-${region.toLowerCase()}-${String(i + 1).padStart(2, '0')}`;

/** The scenario of the tests and the demo: HK fast, JP slow, US with a silent host (red at the timeout). */
export function defaultDrillScenario(start: number, seed = 17): DrillScenario {
  const m = 60_000;
  return {
    seed,
    start,
    lead: 70 * m,
    length: 5 * 60 * m,
    drillId: ulidAt(start - 1000, rng(seed + 1)),
    timeoutMs: 4 * 60 * m,
    by: 'alice',
    note: 'quarterly revoke-one-cert drill',
    regions: [
      { region: 'HK', hosts: 4, rotateMin: 10 * m, rotateMax: 40 * m },
      { region: 'JP', hosts: 4, rotateMin: 60 * m, rotateMax: 150 * m },
      { region: 'US', hosts: 4, rotateMin: 20 * m, rotateMax: 90 * m, silent: ['mini-us-03'] },
    ],
  };
}

/** The scenario's events (NDJSON lines, event-time order), the drill start events (one per region) included. */
export function drillScenarioLines(s: DrillScenario): string[] {
  const rand = rng(s.seed);
  const used = new Set<number>();
  /** A free millisecond at or after t (events never share an instant). */
  const at = (t: number): number => {
    let x = Math.floor(t);
    while (used.has(x)) x++;
    used.add(x);
    return x;
  };
  const out: { t: number; line: string }[] = [];
  const regions = s.regions.map((r) => r.region);
  const from = s.start - s.lead;
  const to = s.start + s.length;
  for (const plan of s.regions) {
    const t = at(s.start);
    out.push({
      t,
      line: JSON.stringify({ v: 1, id: ulidAt(t, rand), ts: toIso(t), type: 'drill', host: 'ops-laptop', region: plan.region, pool: 'signing', agent: '0.1.0', action: 'start', drillId: s.drillId, sha1: REVOKED_SHA1, regions, by: s.by, ...(s.note ? { note: s.note } : {}), timeoutMs: s.timeoutMs }),
    });
    for (let i = 0; i < plan.hosts; i++) {
      const host = hostName(plan.region, i);
      const silent = plan.silent?.includes(host) === true;
      const rotate = s.start + plan.rotateMin + Math.floor(rand() * (plan.rotateMax - plan.rotateMin));
      const base = (t: number) => ({ v: 1, id: ulidAt(t, rand), ts: toIso(t), host, region: plan.region, pool: 'signing', agent: '0.1.0' });
      // heartbeats every minute (a per-host phase), with the inventory
      const phase = Math.floor(rand() * 60_000);
      for (let hb = from + phase; hb < to; hb += 60_000) {
        if (silent && hb >= s.start) break;
        const t = at(hb);
        const certs = t < rotate ? [REVOKED_SHA1] : [REPLACEMENT_SHA1];
        out.push({
          t,
          line: JSON.stringify({ ...base(t), type: 'heartbeat', searchList: [KEYCHAIN], wrapperSha256: 'a'.repeat(64), secretVersion: 'v7', teamIds: ['ABCDE12345'], identities: t < rotate && t < s.start ? [REVOKED_SHA1] : t >= rotate ? [REPLACEMENT_SHA1] : [], keychain: KEYCHAIN, certSha1s: certs }),
        });
      }
      // signing calls every 2–8 minutes
      for (let c = from + Math.floor(rand() * 120_000); c < to; c += 120_000 + Math.floor(rand() * 360_000)) {
        if (silent && c >= s.start) break;
        const t = at(c);
        const identity = t < rotate ? REVOKED_SHA1 : REPLACEMENT_SHA1;
        const revoked = identity === REVOKED_SHA1 && t >= s.start;
        out.push({
          t,
          line: JSON.stringify({
            ...base(t),
            type: 'codesign',
            tool: rand() < 0.2 ? 'productsign' : 'codesign',
            operation: 'sign',
            outcome: revoked ? 'fail' : 'ok',
            durationMs: 700 + Math.floor(rand() * 900),
            exitCode: revoked ? 1 : 0,
            keychain: KEYCHAIN,
            partitionIds: ['apple-tool:', 'apple:', 'codesign:'],
            identity,
            invocationId: ulidAt(t, rand),
            correlationId: `pipeline-${plan.region.toLowerCase()}-${t % 100_000}`,
            ...(revoked ? { error: { code: 'CSSMERR_TP_CERT_REVOKED', osStatus: null, class: 'identity', message: `${SUBJECT}: CSSMERR_TP_CERT_REVOKED` } } : {}),
          }),
        });
      }
    }
  }
  return out.sort((a, b) => a.t - b.t).map((x) => x.line);
}
