/**
 * What `agent exec` records about one wrapped run: the event for codesign / productsign (classified stderr,
 * keychain, identity, partition IDs), notarytool (outcome from the status) and set-key-partition-list (acl,
 * declared inside a maintenance window). Imported by exec.ts only after the tool was spawned, so that loading it
 * overlaps the tool's run.
 */
import { spawnSync } from 'node:child_process';
import { classifyCodesignStderr, parseCodesignArgs, REVOKED_CODE, type CodesignError } from './macos/codesign.js';
import { inMaintenanceWindow, type AgentConfig } from './config.js';
import { emitEvents, logAgentError, type SinkSpec } from './spool/emit.js';
import { baseEvent, type WireEvent } from './events.js';
import type { ToolKind, ToolRun } from './tool-run.js';
import { classifyNotaryError, keychainProfileOf, outcomeOfStatus, parseNotaryOutput } from './macos/notarytool.js';
import { parseKeychainList, parseSetKeyPartitionListArgs } from './macos/security.js';
import { identityFor, partitionIdsOf, readState, writeState, type HostState } from './state.js';
import { childOfEnv } from '../platform/traceparent.js';

/** Keep events inside the wire contract's bounds whatever the tool was given. */
export function clampDuration(ms: number): number {
  return Math.max(0, Math.min(86_400_000, Math.round(ms)));
}

export function ids(list: readonly string[]): string[] {
  return list.filter((s) => s.length > 0).slice(0, 64).map((s) => s.slice(0, 128));
}

export function resolveKeychain(explicit: string | undefined, cfg: AgentConfig, state: HostState): string {
  if (explicit) return explicit;
  if (state.searchList[0]) return state.searchList[0];
  if (cfg.keychain) return cfg.keychain;
  // no scan yet: ask security once (bounded), so the event still names the keychain in use
  const r = spawnSync('security', ['list-keychains'], { encoding: 'utf8', timeout: 3000 });
  return parseKeychainList(r.stdout ?? '')[0] ?? 'unknown';
}

/** The event for one wrapped run, or undefined when the tool is not one the agent records. */
export function eventForRun(
  cfg: AgentConfig,
  kind: ToolKind,
  args: readonly string[],
  run: ToolRun,
  state: HostState,
  now: number,
  env: NodeJS.ProcessEnv = process.env,
): WireEvent | undefined {
  if (kind === 'codesign' || kind === 'productsign') {
    const a = parseCodesignArgs(args);
    const keychain = resolveKeychain(a.keychain, cfg, state);
    const ev = baseEvent(cfg, 'codesign', now, env);
    ev.tool = kind;
    // what the call did: codesign from its arguments (-s sign, -v/--verify verify, -d/--display display);
    // productsign always signs. Checks never count toward the keychain page.
    ev.operation = kind === 'productsign' ? 'sign' : a.operation;
    ev.outcome = run.exitCode === 0 && run.signal === null ? 'ok' : 'fail';
    ev.durationMs = clampDuration(run.durationMs);
    ev.exitCode = run.exitCode;
    ev.keychain = keychain.slice(0, 1024);
    ev.partitionIds = ids(partitionIdsOf(state, keychain));
    let error: CodesignError | undefined;
    if (ev.outcome === 'fail') {
      if (run.spawnError) error = { code: `spawn_${run.spawnError}`, osStatus: null, class: 'other', message: `cannot run ${kind}` };
      else if (run.signal) error = { code: `signal_${run.signal}`, osStatus: null, class: 'other', message: `killed by ${run.signal}` };
      else error = classifyCodesignStderr(run.stderr, run.exitCode);
    }
    // a revoked-certificate failure names the revoked identity (cert_revoked reads identity + error.code)
    const identity = identityFor(a.sign, state, error?.code === REVOKED_CODE ? 'revoked' : 'valid');
    if (identity !== undefined) ev.identity = identity;
    ev.invocationId = ev.id;
    if (error) ev.error = error;
    return ev;
  }
  if (kind === 'notarytool') {
    const sub = args[args.indexOf('notarytool') + 1] ?? args[0];
    if (sub !== 'submit' && sub !== 'wait') return undefined;
    const parsed = parseNotaryOutput(run.stdout, run.stderr);
    const outcome = outcomeOfStatus(parsed.status);
    const ev = baseEvent(cfg, 'notarize', now, env);
    ev.durationMs = clampDuration(run.durationMs);
    ev.attempts = 1;
    if (parsed.submissionId) ev.submissionId = parsed.submissionId;
    if (outcome) {
      ev.outcome = outcome;
      return ev;
    }
    if (run.exitCode === 0) return undefined; // uploaded, no final status (no --wait): nothing to report yet
    const text = parsed.errorText ?? (run.stderr.trim().split('\n').pop() || `exit status ${run.exitCode}`);
    const f = classifyNotaryError(text);
    ev.outcome = 'error';
    ev.error = { class: f.class, code: f.code, message: text.slice(0, 4096) };
    return ev;
  }
  if (kind === 'acl') {
    const p = parseSetKeyPartitionListArgs(args.slice(1));
    const ev = baseEvent(cfg, 'acl', now, env);
    ev.command = 'set-key-partition-list';
    ev.keychain = (p.keychain || state.searchList[0] || cfg.keychain || 'unknown').slice(0, 1024);
    ev.partitionIds = ids(p.partitionIds);
    ev.declared = inMaintenanceWindow(cfg, now);
    ev.exitCode = run.exitCode;
    ev.outcome = run.exitCode === 0 ? 'ok' : 'fail';
    return ev;
  }
  return undefined;
}

/** Build, spool (fsync'd) and cache what one run teaches; never throws (problems go to agent-errors.log). */
export function recordRun(cfg: AgentConfig, kind: ToolKind, args: readonly string[], run: ToolRun, sink: SinkSpec, env: NodeJS.ProcessEnv): void {
  try {
    const state = readState(cfg.dataDir);
    const ev = eventForRun(cfg, kind, args, run, state, Date.now(), env);
    if (!ev) return;
    // the call's own span: in the CI job's trace (TRACEPARENT, as CI OpenTelemetry integrations export it) or a new
    // one; the daemon records the span from these ids (services/agent/spool/shipper.ts) and ships it on
    Object.assign(ev, childOfEnv(env.TRACEPARENT));
    const r = emitEvents(cfg, [ev], sink);
    if (r.dropped > 0) logAgentError(cfg, `spool full: dropped ${r.dropped} oldest event(s)`);
    if (kind === 'acl' && run.exitCode === 0 && typeof ev.keychain === 'string') {
      state.partitionIds[ev.keychain] = ev.partitionIds as string[];
      writeState(cfg.dataDir, state);
    }
    const profile = kind === 'notarytool' ? keychainProfileOf(args) : undefined;
    if (profile !== undefined && profile !== state.notaryProfile) {
      // the heartbeat's notaryProfile: the keychain profile this host notarizes with
      state.notaryProfile = profile;
      writeState(cfg.dataDir, state);
    }
  } catch (e) {
    logAgentError(cfg, `exec: ${(e as Error).message}`);
  }
}
