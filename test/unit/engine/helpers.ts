/** Test doubles beside the engine contract: event builders on a fake timeline and an in-memory sink. */
import type { Region, SignEvent } from '../../../schemas/events.js';
import { defaultPolicy, parsePolicy } from '../../../services/engine/policy.js';
import { createEngine, MemorySink } from '../../../services/engine/engine.js';
import { ulidAt, rng } from '../../../services/simulate/simulate.js';
import { toIso } from '../../../services/engine/time.js';

export const T0 = Date.parse('2026-11-20T00:00:00.000Z');
export const min = (n: number) => n * 60_000;
export const day = (n: number) => n * 86_400_000;

const rand = rng(42);
export function id(t: number): string {
  return ulidAt(t, rand);
}

const base = (t: number, region: Region, host: string) => ({ v: 1 as const, id: id(t), ts: toIso(t), host, region, pool: 'signing' as const, agent: 'test' });

export function kcFail(t: number, region: Region = 'HK', host = 'mini-hk-01'): SignEvent {
  return {
    ...base(t, region, host),
    type: 'codesign',
    tool: 'codesign',
    outcome: 'fail',
    durationMs: 120,
    exitCode: 1,
    keychain: '/Users/ci/Library/Keychains/signing.keychain-db',
    partitionIds: ['apple-tool:', 'apple:'],
    invocationId: id(t),
    correlationId: 'ci-1',
    error: { code: 'errSecInternalComponent', osStatus: -2070, class: 'keychain', message: 'errSecInternalComponent' },
  };
}

export function csOk(t: number, region: Region = 'HK', host = 'mini-hk-01'): SignEvent {
  return { ...base(t, region, host), type: 'codesign', tool: 'codesign', outcome: 'ok', durationMs: 800, exitCode: 0, keychain: '/k', partitionIds: [], invocationId: id(t) };
}

export function unlock(t: number, durationMs: number, region: Region = 'SG', host = 'mini-sg-01'): SignEvent {
  return { ...base(t, region, host), type: 'unlock', outcome: 'ok', durationMs, keychain: '/k' };
}

export function cert(t: number, notAfter: number, region: Region = 'US', host = 'mini-us-01', sha1 = 'A'.repeat(40), pool: 'signing' | 'compile' = 'signing', revoked?: boolean): SignEvent {
  return { ...base(t, region, host), pool, type: 'cert', sha1, subject: 'Apple Distribution: Example Corp (ABCDE12345)', teamId: 'ABCDE12345', certKind: 'Apple Distribution', notAfter: toIso(notAfter), keychain: '/k', ...(revoked !== undefined ? { revoked } : {}) };
}

/** A signing call that failed because its identity's certificate is revoked. */
export function revokedUse(t: number, sha1: string, region: Region = 'US', host = 'mini-us-01'): SignEvent {
  return { ...kcFail(t, region, host), identity: sha1, error: { code: 'CSSMERR_TP_CERT_REVOKED', osStatus: null, class: 'identity', message: 'CSSMERR_TP_CERT_REVOKED' } } as SignEvent;
}

export function clock(t: number, offsetMs: number, region: Region = 'JP', host = 'mini-jp-01'): SignEvent {
  return { ...base(t, region, host), type: 'clock', offsetMs, server: 'time.apple.com' };
}

export function heartbeat(t: number, host: string, wrapper = 'a'.repeat(64), region: Region = 'KR', spoolDropped?: number, certSha1s?: string[]): SignEvent {
  return {
    ...base(t, region, host),
    type: 'heartbeat',
    searchList: ['/k'],
    wrapperSha256: wrapper,
    secretVersion: 'v1',
    teamIds: ['ABCDE12345'],
    identities: [],
    ...(spoolDropped !== undefined ? { spoolDropped } : {}),
    ...(certSha1s !== undefined ? { certSha1s } : {}),
  };
}

export function clockFail(t: number, region: Region = 'JP', host = 'mini-jp-01', reason = 'sntp: Exchange failed: Timeout'): SignEvent {
  return { ...base(t, region, host), type: 'clock', outcome: 'fail', server: 'time.apple.com', reason };
}

type NotaryClass = 'apple_api' | 'auth' | 'network' | 'keychain' | 'other';
/** A notarization: `failed` are the classes of the attempts that failed before the last; `final` its error class, if any. */
export function notarize(t: number, failed: NotaryClass[], final: NotaryClass | null, region: Region = 'US', host = 'mini-us-01'): SignEvent {
  return {
    ...base(t, region, host),
    type: 'notarize',
    outcome: final ? 'error' : 'accepted',
    durationMs: 60_000,
    attempts: failed.length + 1,
    ...(failed.length ? { attemptErrors: failed.map((c) => ({ class: c })) } : {}),
    ...(final ? { error: { class: final, message: final } } : {}),
  };
}

export function verifyFail(t: number, region: Region = 'HK', host = 'mini-hk-01'): SignEvent {
  return { ...kcFail(t, region, host), operation: 'verify' } as SignEvent;
}

export function acl(t: number, declared: boolean, region: Region = 'HK', host = 'mini-hk-01'): SignEvent {
  return { ...base(t, region, host), type: 'acl', command: 'set-key-partition-list', keychain: '/k', partitionIds: ['apple-tool:'], declared };
}

export function run(events: SignEvent[], opts: { until?: number; policy?: unknown } = {}) {
  const sink = new MemorySink();
  const policy = opts.policy ? parsePolicy(opts.policy) : defaultPolicy();
  const engine = createEngine(policy, sink);
  const outcomes = events.map((e) => engine.offer(e));
  if (opts.until !== undefined) engine.advanceTo(opts.until);
  engine.flush();
  const transitions = sink.transitions.map((t) => ({ alert: t.alert, state: t.state, at: t.at, value: t.value, labels: t.labels }));
  return { sink, engine, outcomes, transitions };
}
