/**
 * A small seeded generator of wire-contract-v1 events for the store benchmark and the store tests
 * (independent of `signwatch simulate` so the benchmark does not move when the simulator changes).
 * Events come in time order, spread evenly over [end - days, end), with realistic cardinalities:
 * 5 regions × hostsPerRegion hosts, ~4 events per CI job (correlationId), 3 % codesign failures.
 * Each event comes with its JSON text and as parsed from that text, as the store's real callers hand them over.
 */
import type { SignEvent } from '../schemas/events.js';
import type { StoreInput } from '../services/query/store.js';

export interface GenOptions {
  seed: number;
  count: number;
  /** End of the period (ms, exclusive). */
  end: number;
  days: number;
  hostsPerRegion: number;
}

const REGIONS = ['HK', 'JP', 'KR', 'SG', 'US'] as const;
const KEYCHAIN_ERRORS = ['errSecInternalComponent', 'errSecInteractionNotAllowed', 'errSecAuthFailed'];
const OTHER_ERRORS = ['errSecItemNotFound', 'CSSMERR_TP_NOT_TRUSTED', 'timestamp-unavailable'];
const HEX = '0123456789ABCDEF';

/** The simulator's seeded generator and time-ordered ULIDs (one implementation for every generator). */
export { rng as mulberry32, ulidAt } from '../services/simulate/simulate.js';
import { rng as mulberry32, ulidAt } from '../services/simulate/simulate.js';

function sha1(rand: () => number): string {
  let s = '';
  for (let i = 0; i < 40; i++) s += HEX[Math.floor(rand() * 16)]!;
  return s;
}

/** Yields batches of `batchSize` events (the last one may be shorter). */
export function* generateBatches(o: GenOptions, batchSize = 5000): Generator<StoreInput[]> {
  const rand = mulberry32(o.seed);
  const start = o.end - o.days * 86_400_000;
  const step = (o.end - start) / o.count;
  const identity = sha1(rand);
  let job = 0;
  let jobLeft = 0;
  let invocation = 0;
  let batch: StoreInput[] = [];
  for (let i = 0; i < o.count; i++) {
    const ts = Math.floor(start + i * step);
    const region = REGIONS[Math.floor(rand() * REGIONS.length)]!;
    const host = `mini-${region.toLowerCase()}-${String(1 + Math.floor(rand() * o.hostsPerRegion)).padStart(2, '0')}`;
    if (jobLeft-- <= 0) {
      job++;
      jobLeft = 3;
    }
    const common = {
      v: 1 as const,
      id: ulidAt(ts, rand),
      ts: new Date(ts).toISOString(),
      host,
      region,
      pool: 'signing' as const,
      agent: '0.1.0',
    };
    const p = rand();
    const keychain = `/Users/ci/Library/Keychains/signing-${region.toLowerCase()}.keychain-db`;
    let event: SignEvent;
    if (p < 0.6) {
      const fail = rand() < 0.03;
      const keychainError = rand() < 0.5;
      const code = keychainError
        ? KEYCHAIN_ERRORS[Math.floor(rand() * KEYCHAIN_ERRORS.length)]!
        : OTHER_ERRORS[Math.floor(rand() * OTHER_ERRORS.length)]!;
      event = {
        ...common,
        correlationId: `ci-${job}`,
        type: 'codesign',
        tool: 'codesign',
        outcome: fail ? 'fail' : 'ok',
        durationMs: 200 + Math.floor(rand() * 2000),
        exitCode: fail ? 1 : 0,
        keychain,
        partitionIds: ['apple-tool:', 'apple:', rand() < 0.1 ? 'teamid:ABCDE12345' : 'codesign:'],
        identity,
        invocationId: `inv-${++invocation}`,
        ...(fail ? { error: { code, osStatus: keychainError ? -25300 : null, class: keychainError ? ('keychain' as const) : ('identity' as const), message: `${code} (simulated)` } } : {}),
      };
    } else if (p < 0.8) {
      event = { ...common, type: 'unlock', outcome: 'ok', durationMs: 50 + Math.floor(rand() * 600), keychain };
    } else if (p < 0.88) {
      event = {
        ...common,
        type: 'heartbeat',
        searchList: [keychain],
        wrapperSha256: 'a'.repeat(64),
        secretVersion: 'v7',
        teamIds: ['ABCDE12345'],
        identities: [identity],
      };
    } else if (p < 0.93) {
      event = {
        ...common,
        correlationId: `ci-${job}`,
        type: 'notarize',
        outcome: 'accepted',
        durationMs: 30_000 + Math.floor(rand() * 60_000),
        attempts: 1,
        submissionId: `sub-${i}`,
      };
    } else if (p < 0.98) {
      event = { ...common, type: 'clock', offsetMs: Math.round((rand() - 0.5) * 100), server: 'time.apple.com' };
    } else if (p < 0.99) {
      event = {
        ...common,
        type: 'cert',
        sha1: identity,
        subject: 'Apple Distribution: Example Corp (ABCDE12345)',
        teamId: 'ABCDE12345',
        certKind: 'Apple Distribution',
        notAfter: new Date(o.end + 90 * 86_400_000).toISOString(),
        keychain,
      };
    } else {
      event = {
        ...common,
        type: 'acl',
        command: 'set-key-partition-list',
        keychain,
        partitionIds: ['apple-tool:', 'apple:', 'codesign:'],
        declared: rand() < 0.9,
      };
    }
    // handed over the way every real writer does: parsed from the JSON text (the processor from Kafka message
    // bytes, `store import` from NDJSON lines). The generator's own objects are built from concatenated strings
    // and spreads, which cost better-sqlite3 ~1.7× more to bind (measured), a cost no real caller pays.
    const raw = JSON.stringify(event);
    batch.push({ event: JSON.parse(raw) as SignEvent, raw });
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}
