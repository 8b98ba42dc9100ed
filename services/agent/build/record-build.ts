/**
 * The events of a scanned build (services/agent/build/scanner.ts): one `codesign` event per signing step and one
 * `notarize` event per notarization, built like the wrapper's (record.ts: same keychain resolution, identity lookup,
 * classifier and notarytool parsing) plus `via`, `target` and `identityName`. Loaded by exec.ts only for build tools.
 */
import type { AgentConfig } from '../config.js';
import { baseEvent, type WireEvent } from '../events.js';
import { REVOKED_CODE } from '../macos/codesign.js';
import { classifyNotaryError, outcomeOfStatus, parseNotaryOutput } from '../macos/notarytool.js';
import { clampDuration, ids, resolveKeychain } from '../record.js';
import { emitEvents, logAgentError, type SinkSpec } from '../spool/emit.js';
import { childOfEnv, formatTraceparent, newSpanId, newTraceId, parseTraceparent } from '../../platform/traceparent.js';
import { identityFor, partitionIdsOf, readState, type HostState } from '../state.js';
import type { Step } from './scanner.js';

/** The events for the steps of one build, in log order; each is time-stamped at its step's end (wall-clock ms). */
export function eventsForSteps(cfg: AgentConfig, steps: readonly Step[], state: HostState, env: NodeJS.ProcessEnv = process.env): WireEvent[] {
  const out: WireEvent[] = [];
  let defaultKeychain: string | undefined;
  for (const step of steps) {
    if (step.kind === 'codesign') {
      const ev = baseEvent(cfg, 'codesign', Math.round(step.endMs), env);
      ev.tool = 'codesign';
      ev.operation = 'sign';
      ev.via = step.via;
      ev.outcome = step.outcome;
      ev.durationMs = clampDuration(step.endMs - step.startMs);
      ev.exitCode = step.exitCode;
      const keychain = step.keychain ?? (defaultKeychain ??= resolveKeychain(undefined, cfg, state));
      ev.keychain = keychain.slice(0, 1024);
      ev.partitionIds = ids(partitionIdsOf(state, keychain));
      const sha1 = step.identitySha1 ?? identityFor(step.identityName, state, step.error?.code === REVOKED_CODE ? 'revoked' : 'valid');
      if (sha1 !== undefined) ev.identity = sha1;
      if (step.identityName !== undefined) ev.identityName = step.identityName;
      ev.target = step.target || 'unknown';
      if (step.targetName !== undefined) ev.targetName = step.targetName;
      ev.invocationId = ev.id;
      if (step.error) ev.error = step.error;
      out.push(ev);
      continue;
    }
    const parsed = parseNotaryOutput(step.text, '');
    const outcome = outcomeOfStatus(parsed.status);
    if (!outcome && parsed.errorText === undefined) continue; // no final status: nothing to report yet
    const ev = baseEvent(cfg, 'notarize', Math.round(step.endMs), env);
    if (step.via !== undefined) ev.via = step.via;
    ev.durationMs = clampDuration(step.endMs - step.startMs);
    ev.attempts = 1;
    if (parsed.submissionId) ev.submissionId = parsed.submissionId;
    if (outcome) ev.outcome = outcome;
    else {
      const text = parsed.errorText ?? '';
      const f = classifyNotaryError(text);
      ev.outcome = 'error';
      ev.error = { class: f.class, code: f.code, message: text.slice(0, 4096) };
    }
    out.push(ev);
  }
  return out;
}

/**
 * The trace context of each event of one build (issue 20, as record.ts does for a wrapped call): every signing step
 * and notarization is its own span; with the CI job's `TRACEPARENT` they are children of its span in its trace
 * (`parentSpanId` = the job's span), else they share one new sampled trace for the whole build (no parent).
 */
export function buildSpans(envTraceparent: string | undefined): () => { traceparent: string; parentSpanId?: string } {
  if (parseTraceparent(envTraceparent)) return () => childOfEnv(envTraceparent);
  const traceId = newTraceId();
  return () => ({ traceparent: formatTraceparent({ traceId, spanId: newSpanId(), flags: 1 }) });
}

/** Spool (fsync'd) the events of one build; never throws (problems go to agent-errors.log). */
export function recordBuild(cfg: AgentConfig, steps: readonly Step[], dropped: number, sink: SinkSpec, env: NodeJS.ProcessEnv): void {
  try {
    const events = eventsForSteps(cfg, steps, readState(cfg.dataDir), env);
    // the daemon records each span from these ids (services/agent/spool/shipper.ts) and ships it on
    const span = buildSpans(env.TRACEPARENT);
    for (const ev of events) Object.assign(ev, span());
    const r = emitEvents(cfg, events, sink);
    if (dropped > 0) logAgentError(cfg, `exec: build log had more signing steps than kept: ${dropped} not recorded`);
    if (r.dropped > 0) logAgentError(cfg, `spool full: dropped ${r.dropped} oldest event(s)`);
  } catch (e) {
    logAgentError(cfg, `exec: ${(e as Error).message}`);
  }
}
