/**
 * Builders for wire-contract v1 events (schemas/events.ts). Plain objects, no zod on this path: tests check that
 * every event the agent emits passes validateEvent. Event ids are monotonic ULIDs (sortable, the dedup key).
 */
import { monotonicFactory } from 'ulid';
import type { AgentConfig } from './config.js';
import { AGENT_VERSION } from './version.js';

const nextUlid = monotonicFactory();

export function newId(now: number = Date.now()): string {
  return nextUlid(now);
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
