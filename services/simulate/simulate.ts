/**
 * A seeded, reproducible generator of realistic fleet traffic (wire contract v1 events, in time order as agents
 * would ship them), with scripted incidents and optional dirt: duplicates, late and malformed lines.
 *
 * Error strings and codes are the ones the agent's classifier produces from real codesign/security output
 * (the research captures macos-fixtures/, kept outside this repository): errSecInternalComponent, errSecInteractionNotAllowed, item not found, …
 */
import { REGIONS, type Region, type SignEvent } from '../../schemas/events.js';
import { DAY, HOUR, MINUTE, toIso } from '../engine/time.js';

export type Incident =
  /** codesign fails with keychain errors on `hosts` hosts of the region from `at` for `duration`. */
  | { kind: 'keychain-lock'; region: Region; at: number; duration: number; hosts: number; failureRate?: number }
  /** unlock helper latency around `medianMs` (vault or disk contention) from `at` for `duration`. */
  | { kind: 'slow-vault'; region: Region; at: number; duration: number; medianMs: number }
  /** a distribution certificate reported by the region's hosts that expires `daysLeft` days after `at`. */
  | { kind: 'expiring-cert'; region: Region; at: number; daysLeft: number }
  /** clock skew of `offsetMs` on one host of the region. */
  | { kind: 'clock-skew'; region: Region; at: number; duration: number; offsetMs: number }
  /** an undeclared set-key-partition-list on one host. */
  | { kind: 'acl'; region: Region; at: number };

export interface SimulateOptions {
  seed: number;
  /** Start of the simulated period (ms). */
  start: number;
  /** Number of events to generate (before dirt is added). */
  events: number;
  /** Mean events per second over the whole fleet (event time). */
  ratePerSecond: number;
  hostsPerRegion: number;
  compileHostsPerRegion: number;
  incidents: Incident[];
  /** Fractions of extra lines: re-sent duplicates, events delivered late (10–30 min), malformed lines. */
  duplicateRate: number;
  lateRate: number;
  malformedRate: number;
  /**
   * Every host also sends a heartbeat this often (ms of event time; 0: none), as the agent daemon does once a
   * minute: a fleet whose heartbeats came only at random would look silent (host_silent) for no reason.
   */
  heartbeatEvery: number;
}

export const DEFAULT_SIMULATION: Omit<SimulateOptions, 'start'> = {
  seed: 1,
  events: 10_000,
  ratePerSecond: 2,
  hostsPerRegion: 4,
  compileHostsPerRegion: 1,
  incidents: [],
  duplicateRate: 0,
  lateRate: 0,
  malformedRate: 0,
  heartbeatEvery: MINUTE,
};

/** mulberry32: small, fast, good enough for simulation; seeded for reproducibility. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID whose time part is the event time and whose random part comes from the seeded generator. */
export function ulidAt(ms: number, rand: () => number): string {
  let time = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  let r = '';
  for (let i = 0; i < 16; i++) r += CROCKFORD[Math.floor(rand() * 32)]!;
  return time + r;
}

interface Host {
  name: string;
  region: Region;
  pool: 'signing' | 'compile';
  keychain: string;
  identity: string;
  certs: { sha1: string; subject: string; kind: string; teamId: string; notAfter: number }[];
}

const TEAM = 'ABCDE12345';
const KEYCHAIN = '/Users/ci/Library/Keychains/signing.keychain-db';
const WRAPPER = 'a3f1c9d2e4b5a6978812c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718';

function hex(rand: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789ABCDEF'[Math.floor(rand() * 16)]!;
  return s;
}

/** Failure modes seen in real codesign output, with their classification. */
const BASE_FAILURES = [
  { code: 'errSecItemNotFound', osStatus: -25300, class: 'identity', message: 'The specified item could not be found in the keychain.', weight: 3 },
  { code: 'noIdentityFound', osStatus: null, class: 'identity', message: 'no identity found', weight: 2 },
  { code: 'timestampUnavailable', osStatus: null, class: 'timestamp', message: 'The timestamp service is not available.', weight: 3 },
  { code: 'detritusNotAllowed', osStatus: null, class: 'bundle', message: 'resource fork, Finder information, or similar detritus not allowed', weight: 2 },
] as const;
const KEYCHAIN_FAILURES = [
  { code: 'errSecInternalComponent', osStatus: -2070, class: 'keychain', message: 'errSecInternalComponent', weight: 8 },
  { code: 'errSecInteractionNotAllowed', osStatus: -25308, class: 'keychain', message: 'User interaction is not allowed.', weight: 2 },
] as const;

function pick<T extends { weight: number }>(items: readonly T[], rand: () => number): T {
  const total = items.reduce((s, i) => s + i.weight, 0);
  let x = rand() * total;
  for (const i of items) {
    x -= i.weight;
    if (x < 0) return i;
  }
  return items[items.length - 1]!;
}

/** Log-normal sample with the given median (ms) and spread. */
function lognormal(rand: () => number, median: number, sigma: number): number {
  const u = Math.max(rand(), 1e-12);
  const v = rand();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return Math.max(1, Math.round(median * Math.exp(sigma * z)));
}

function makeFleet(opts: SimulateOptions, rand: () => number): Host[] {
  const hosts: Host[] = [];
  for (const region of REGIONS) {
    const dist = { sha1: hex(rand, 40), subject: `Apple Distribution: Example Corp (${TEAM})`, kind: 'Apple Distribution', teamId: TEAM, notAfter: opts.start + 200 * DAY };
    const devId = { sha1: hex(rand, 40), subject: `Developer ID Application: Example Corp (${TEAM})`, kind: 'Developer ID Application', teamId: TEAM, notAfter: opts.start + 400 * DAY };
    const dev = { sha1: hex(rand, 40), subject: `Apple Development: CI Bot (${TEAM})`, kind: 'Apple Development', teamId: TEAM, notAfter: opts.start + 300 * DAY };
    for (let i = 1; i <= opts.hostsPerRegion; i++) {
      hosts.push({ name: `mini-${region.toLowerCase()}-${String(i).padStart(2, '0')}`, region, pool: 'signing', keychain: KEYCHAIN, identity: dist.sha1, certs: [dist, devId] });
    }
    for (let i = 1; i <= opts.compileHostsPerRegion; i++) {
      hosts.push({ name: `build-${region.toLowerCase()}-${String(i).padStart(2, '0')}`, region, pool: 'compile', keychain: KEYCHAIN, identity: dev.sha1, certs: [dev] });
    }
  }
  return hosts;
}

const active = (i: { at: number; duration?: number }, t: number) => t >= i.at && (i.duration === undefined || t < i.at + i.duration);

/** What a host's heartbeat reports (the same configuration on every host: a healthy fleet is in parity). */
function heartbeatFields(host: Host, spoolDepth: number) {
  return {
    type: 'heartbeat' as const,
    searchList: [host.keychain, '/Library/Keychains/System.keychain'],
    wrapperSha256: WRAPPER,
    secretVersion: 'v7',
    teamIds: [TEAM],
    identities: host.certs.map((c) => c.sha1),
    keychain: host.keychain,
    spoolDepth,
    spoolDropped: 0,
  };
}

/**
 * Generate the stream. Returns NDJSON lines (strings) in delivery order. Duplicates are re-sent copies of earlier
 * lines; late lines are delivered 10–30 min after their event time; malformed lines are broken on purpose.
 */
export function* simulate(options: Partial<SimulateOptions> & { start: number }): Generator<string> {
  const opts: SimulateOptions = { ...DEFAULT_SIMULATION, ...options };
  const rand = rng(opts.seed);
  const hosts = makeFleet(opts, rand);
  const signing = hosts.filter((h) => h.pool === 'signing');
  const byRegion = new Map<Region, Host[]>();
  for (const h of signing) byRegion.set(h.region, [...(byRegion.get(h.region) ?? []), h]);
  /** Position of a signing host in its region (compile hosts: Infinity, so incidents skip them). */
  const hostIndex = (h: Host) => {
    const i = (byRegion.get(h.region) ?? []).indexOf(h);
    return i < 0 ? Infinity : i;
  };
  const meanGap = 1000 / opts.ratePerSecond;
  const delayed: { due: number; line: string }[] = [];
  const recent: string[] = [];
  let t = opts.start;
  let correlation = 1000;
  const certIncidents = opts.incidents.filter((i) => i.kind === 'expiring-cert');
  const expiring = new Map<Region, Host['certs'][number]>();
  const aclDone = new Set<Incident>();

  // the daemons' heartbeats: their own random stream (the seeded sequence of the other events is unchanged), each
  // host at its own phase within the period
  const beatRand = rng(opts.seed ^ 0x5eed);
  const beats = opts.heartbeatEvery > 0 ? hosts.map((h) => ({ host: h, due: opts.start + Math.floor(beatRand() * opts.heartbeatEvery) })) : [];
  const heartbeat = (host: Host, at: number): SignEvent => ({
    v: 1,
    id: ulidAt(at, beatRand),
    ts: toIso(at),
    host: host.name,
    region: host.region,
    pool: host.pool,
    agent: '0.1.0',
    ...heartbeatFields(host, 0),
  });

  // each host joins the pool the way docs/rollout.md says: an SSH session (the ForceCommand's search list) and a
  // passing `agent doctor`, just before its first heartbeat; their own random stream, so the rest is unchanged
  const rolloutRand = rng(opts.seed ^ 0xd0c7);
  const joined = new Set<Host>();
  const rollout = (host: Host, at: number): string[] => {
    const base = { v: 1 as const, ts: toIso(at), host: host.name, region: host.region, pool: host.pool, agent: '0.1.0' };
    const list = [host.keychain, '/Library/Keychains/System.keychain'];
    const session: SignEvent = { ...base, id: ulidAt(at, rolloutRand), type: 'session', user: 'ci', command: 'signwatch agent doctor', outcome: 'exec', searchListBefore: list, searchListAfter: list };
    const checks = ['keychain_file', 'search_list', 'keychain_unlocked', 'partition_list', 'test_signature', 'no_distribution_on_compile_host', 'no_stray_p12', 'notary_profile', 'clock_offset', 'parity', 'launchd_agent'];
    const doctor: SignEvent = { ...base, id: ulidAt(at, rolloutRand), type: 'doctor', ready: true, checks: checks.map((name) => ({ name, ok: true, detail: 'ok' })), durationMs: 2000 + Math.floor(rolloutRand() * 3000) };
    return [JSON.stringify(session), JSON.stringify(doctor)];
  };

  for (let n = 0; n < opts.events; n++) {
    t += Math.max(1, Math.round(-Math.log(Math.max(rand(), 1e-12)) * meanGap));
    // late deliveries due now go out first
    while (delayed.length && delayed[0]!.due <= t) yield delayed.shift()!.line;
    for (;;) {
      let next: (typeof beats)[number] | undefined;
      for (const b of beats) if (b.due < t && (!next || b.due < next.due)) next = b;
      if (!next) break;
      if (!joined.has(next.host)) {
        joined.add(next.host);
        yield* rollout(next.host, next.due);
      }
      yield JSON.stringify(heartbeat(next.host, next.due));
      next.due += opts.heartbeatEvery;
    }
    const host = hosts[Math.floor(rand() * hosts.length)]!;
    const base = { v: 1 as const, id: ulidAt(t, rand), ts: toIso(t), host: host.name, region: host.region, pool: host.pool, agent: '0.1.0' };
    for (const inc of certIncidents) {
      if (inc.region === host.region && t >= inc.at && !expiring.has(inc.region)) {
        expiring.set(inc.region, { sha1: hex(rand, 40), subject: `Apple Distribution: Example Corp (${TEAM})`, kind: 'Apple Distribution', teamId: TEAM, notAfter: inc.at + inc.daysLeft * DAY });
      }
    }
    const x = rand();
    let ev: SignEvent;
    if (x < 0.55) {
      const lock = opts.incidents.find(
        (i): i is Extract<Incident, { kind: 'keychain-lock' }> =>
          i.kind === 'keychain-lock' && i.region === host.region && active(i, t) && hostIndex(host) < i.hosts,
      );
      const fail = lock ? rand() < (lock.failureRate ?? 0.6) : rand() < 0.02;
      const f = fail ? (lock ? pick(KEYCHAIN_FAILURES, rand) : rand() < 0.002 ? pick(KEYCHAIN_FAILURES, rand) : pick(BASE_FAILURES, rand)) : undefined;
      ev = {
        ...base,
        correlationId: `ci-${correlation + Math.floor(rand() * 50)}`,
        type: 'codesign',
        tool: rand() < 0.9 ? 'codesign' : 'productsign',
        outcome: f ? 'fail' : 'ok',
        durationMs: lognormal(rand, f ? 300 : 900, 0.5),
        exitCode: f ? 1 : 0,
        keychain: host.keychain,
        partitionIds: ['apple-tool:', 'apple:', 'codesign:'],
        identity: host.identity,
        invocationId: ulidAt(t, rand),
        ...(f ? { error: { code: f.code, osStatus: f.osStatus, class: f.class, message: f.message } } : {}),
      };
    } else if (x < 0.75) {
      const slow = opts.incidents.find((i): i is Extract<Incident, { kind: 'slow-vault' }> => i.kind === 'slow-vault' && i.region === host.region && active(i, t));
      const failed = rand() < 0.01;
      ev = {
        ...base,
        type: 'unlock',
        outcome: failed ? 'fail' : 'ok',
        durationMs: lognormal(rand, slow ? slow.medianMs : 180, 0.45),
        keychain: host.keychain,
        ...(failed ? { error: { code: 'errSecAuthFailed', osStatus: -25293, message: 'The user name or passphrase you entered is not correct.' } } : {}),
      };
    } else if (x < 0.83) {
      const y = rand();
      // 1 % end in an Apple-side error: a healthy fleet stays under notary_apple_outage's 5 per region-hour
      const outcome = y < 0.93 ? 'accepted' : y < 0.98 ? 'invalid' : y < 0.99 ? 'rejected' : 'error';
      ev = {
        ...base,
        correlationId: `ci-${correlation++}`,
        type: 'notarize',
        outcome,
        durationMs: lognormal(rand, 180_000, 0.6),
        attempts: outcome === 'error' ? 4 : 1 + (rand() < 0.1 ? 1 : 0),
        submissionId: `${hex(rand, 8)}-${hex(rand, 4)}-${hex(rand, 4)}-${hex(rand, 4)}-${hex(rand, 12)}`.toLowerCase(),
        ...(outcome === 'error' ? { error: rand() < 0.7 ? { class: 'apple_api' as const, code: 'HTTP 503', message: 'Apple notary service unavailable' } : { class: 'network' as const, message: 'The network connection was lost.' } } : {}),
      };
    } else if (x < 0.9) {
      ev = { ...base, ...heartbeatFields(host, Math.floor(rand() * 3)) };
    } else if (x < 0.95) {
      const skew = opts.incidents.find(
        (i): i is Extract<Incident, { kind: 'clock-skew' }> => i.kind === 'clock-skew' && i.region === host.region && active(i, t) && byRegion.get(host.region)?.[0] === host,
      );
      ev = { ...base, type: 'clock', offsetMs: skew ? skew.offsetMs : Math.round((rand() - 0.5) * 80 * 1000) / 1000, server: 'time.apple.com' };
    } else {
      const list = [...host.certs];
      const exp = expiring.get(host.region);
      if (exp && host.pool === 'signing') list.push(exp);
      const c = list[Math.floor(rand() * list.length)]!;
      ev = { ...base, type: 'cert', sha1: c.sha1, subject: c.subject, teamId: c.teamId, certKind: c.kind, notAfter: toIso(c.notAfter), keychain: host.keychain };
    }
    for (const inc of opts.incidents) {
      if (inc.kind === 'acl' && inc.region === host.region && t >= inc.at && !aclDone.has(inc)) {
        aclDone.add(inc);
        yield JSON.stringify({ ...base, id: ulidAt(t, rand), type: 'acl', command: 'set-key-partition-list', keychain: host.keychain, partitionIds: ['apple-tool:', 'apple:'], declared: false });
      }
    }
    const line = JSON.stringify(ev);
    if (opts.lateRate > 0 && rand() < opts.lateRate) {
      delayed.push({ due: t + 10 * MINUTE + Math.floor(rand() * 20 * MINUTE), line });
      delayed.sort((a, b) => a.due - b.due);
    } else {
      yield line;
    }
    recent.push(line);
    if (recent.length > 200) recent.shift();
    if (opts.duplicateRate > 0 && rand() < opts.duplicateRate) yield recent[Math.floor(rand() * recent.length)]!;
    if (opts.malformedRate > 0 && rand() < opts.malformedRate) {
      const k = Math.floor(rand() * 4);
      yield k === 0 ? line.slice(0, Math.floor(line.length / 2)) : k === 1 ? line.replace(`"region":"${host.region}"`, '"region":"EU"') : k === 2 ? line.replace('"v":1', '"v":"one"') : 'not json at all';
    }
  }
  for (const d of delayed) yield d.line;
}

/** The scripted incident used by the README run command and the demo: HK keychain lock, SG slow vault, expiring cert. */
export function demoIncidents(start: number): Incident[] {
  return [
    { kind: 'keychain-lock', region: 'HK', at: start + 1 * HOUR, duration: 20 * MINUTE, hosts: 2, failureRate: 0.7 },
    { kind: 'slow-vault', region: 'SG', at: start + 2 * HOUR, duration: 40 * MINUTE, medianMs: 1400 },
    { kind: 'expiring-cert', region: 'US', at: start + 30 * MINUTE, daysLeft: 18 },
  ];
}
