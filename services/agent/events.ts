/**
 * Builders for wire-contract v1 events (schemas/events.ts). Plain objects, no zod on this path: tests check that
 * every event the agent emits passes validateEvent. Event ids are monotonic ULIDs (sortable, the dedup key).
 */
import { randomPoolBytes } from '../platform/random.js';
import type { AgentConfig } from './config.js';
import { AGENT_VERSION } from './version.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let lastTime = -1;
const lastRandom: number[] = [];

/**
 * A monotonic ULID (https://github.com/ulid/spec): 10 Crockford base32 digits of milliseconds, 16 of randomness;
 * within one millisecond (or if the clock steps back) the previous id's random part plus one, so ids made by one
 * process sort in the order they were made.
 */
export function newId(now: number = Date.now()): string {
  const sameMs = now <= lastTime && lastRandom.length === 16;
  let fresh = !sameMs;
  if (sameMs) {
    let i = 15;
    for (; i >= 0; i--) {
      const d = (lastRandom[i] ?? 0) + 1;
      lastRandom[i] = d & 31;
      if (d < 32) break;
    }
    fresh = i < 0; // 2^80 ids in one millisecond: start over with fresh randomness
  }
  if (fresh) {
    let acc = 0;
    let bits = 0;
    let k = 0;
    for (const byte of randomPoolBytes(10)) {
      acc = ((acc << 8) | byte) & 0xffff;
      bits += 8;
      while (bits >= 5) {
        bits -= 5;
        lastRandom[k++] = (acc >> bits) & 31;
      }
    }
    lastTime = Math.max(lastTime, now);
  }
  let time = '';
  for (let t = lastTime, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = CROCKFORD.charAt(t % 32) + time;
  let rand = '';
  for (const d of lastRandom) rand += CROCKFORD.charAt(d);
  return time + rand;
}

/** A wire event as a plain object (validated against schemas/events.ts in the tests). */
export type WireEvent = Record<string, unknown> & { v: 1; id: string; ts: string; type: string; region: string };

/** CI job / pipeline id, first match wins; SIGNWATCH_CORRELATION_ID overrides the CI systems. */
export const CORRELATION_ENV: readonly string[] = [
  'SIGNWATCH_CORRELATION_ID',
  'GITHUB_RUN_ID', // GitHub Actions
  'CI_PIPELINE_ID', // GitLab CI
  'BUILDKITE_BUILD_ID',
  'CIRCLE_WORKFLOW_ID',
  'BITRISE_BUILD_SLUG',
  'TRAVIS_BUILD_ID',
  'BUILD_TAG', // Jenkins
  'TEAMCITY_BUILD_ID',
];

export function correlationIdFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  for (const k of CORRELATION_ENV) {
    const v = env[k]?.trim();
    if (v) return v.slice(0, 256);
  }
  return undefined;
}

export function baseEvent(cfg: AgentConfig, type: string, now: number, env: NodeJS.ProcessEnv = process.env): WireEvent {
  const ev: WireEvent = {
    v: 1,
    id: newId(now),
    ts: new Date(now).toISOString(),
    type,
    host: cfg.host,
    region: cfg.region,
    pool: cfg.pool,
    agent: AGENT_VERSION,
  };
  const corr = correlationIdFromEnv(env);
  if (corr !== undefined) ev.correlationId = corr;
  return ev;
}
