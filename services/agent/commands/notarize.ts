/**
 * `signwatch agent notarize FILE`: `xcrun notarytool submit FILE --wait --output-format json` with retries.
 * Only Apple API outages (HTTP 429/5xx) and network failures are retried, with exponential backoff and jitter;
 * a keychain or credential failure is final at once (retrying would hide an unlock problem) and reported with
 * its class. Invalid / Rejected are final answers, not failures to retry. The event carries the attempt count and
 * `attemptErrors`: the class of every failed attempt before the last, so retries that end in success still show
 * the Apple outage they rode out.
 */
import { backoffDelay } from '../../platform/backoff.js';
import { parseCommandArgs } from '../../platform/cli.js';
import { UsageError } from '../../platform/errors.js';
import { loadConfig } from '../config.js';
import { emitEvents, parseSinkSpec } from '../spool/emit.js';
import { baseEvent, type WireEvent } from '../events.js';
import { classifyNotaryError, keychainProfileOf, outcomeOfStatus, parseNotaryOutput, type NotaryErrorClass, type NotaryOutcome } from '../macos/notarytool.js';
import { readState, writeState } from '../state.js';
import { runCapture, type ToolOutput } from '../scan.js';

const HELP = `Usage: signwatch agent notarize [--keychain-profile NAME] [--config PATH] [--sink ndjson:PATH|-] FILE [-- notarytool args…]

Submit FILE with 'xcrun notarytool submit --wait --output-format json', retrying Apple API and network failures
with exponential backoff and jitter (never keychain or credential failures), and record a 'notarize' event.

Options:
  --keychain-profile NAME  notarytool credentials profile in the keychain
  --config PATH            agent config (retry limits: notarize.maxAttempts, baseDelayMs, maxDelayMs)
  --sink SPEC              write the event to ndjson:PATH or - (stdout) instead of the spool
  -h, --help               show this help

Exit status: 0 accepted, 1 otherwise (invalid, rejected or error).
`;

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Delay before attempt n+1 (n ≥ 1): the platform's backoff with this policy's base and cap. */
export const backoffMs = (attempt: number, p: RetryPolicy, random: () => number = Math.random): number => backoffDelay(attempt, { baseMs: p.baseDelayMs, maxMs: p.maxDelayMs }, random);

export interface AttemptError {
  class: NotaryErrorClass;
  code: string;
  message: string;
}

export interface NotarizeOutcome {
  outcome: NotaryOutcome;
  attempts: number;
  durationMs: number;
  submissionId?: string;
  /** The last attempt's failure, when the submission ended in error. */
  error?: AttemptError;
  /**
   * Every failed attempt before the last, in order, with its class: a submission that was accepted on attempt 3
   * still shows the two Apple API failures before it (notary_apple_outage counts them), and one that failed for
   * good lists the earlier failures here and the last one in `error` (never twice).
   */
  attemptErrors: AttemptError[];
  delays: number[];
}

/** Bound on each attempt's message in the event: 100 attempts × this stays far below the 64 KiB event limit. */
const ATTEMPT_MESSAGE_MAX = 256;

export async function notarizeWithRetry(
  attemptOnce: () => Promise<ToolOutput>,
  policy: RetryPolicy,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  random: () => number = Math.random,
): Promise<NotarizeOutcome> {
  const t0 = performance.now();
  const delays: number[] = [];
  const attemptErrors: AttemptError[] = [];
  for (let attempt = 1; ; attempt++) {
    const out = await attemptOnce();
    const parsed = parseNotaryOutput(out.stdout, out.stderr);
    const outcome = outcomeOfStatus(parsed.status);
    const base = { attempts: attempt, delays, attemptErrors, ...(parsed.submissionId ? { submissionId: parsed.submissionId } : {}) };
    if (outcome) return { ...base, outcome, durationMs: Math.round(performance.now() - t0) };
    const text = parsed.errorText ?? (out.stderr.trim().split('\n').pop() || (out.code === 0 ? `no final status (${parsed.status ?? 'none'})` : `exit status ${out.code}`));
    const f = classifyNotaryError(text);
    if (!f.retryable || attempt >= policy.maxAttempts) {
      return { ...base, outcome: 'error', error: { class: f.class, code: f.code, message: text.slice(0, 4096) }, durationMs: Math.round(performance.now() - t0) };
    }
    attemptErrors.push({ class: f.class, code: f.code, message: text.slice(0, ATTEMPT_MESSAGE_MAX) });
    const d = backoffMs(attempt, policy, random);
    delays.push(d);
    await sleep(d);
  }
}

/** The heartbeat's notaryProfile: the keychain profile this host notarizes with (never fatal). */
function rememberNotaryProfile(dataDir: string, profile: string): void {
  try {
    const st = readState(dataDir);
    if (st.notaryProfile === profile) return;
    st.notaryProfile = profile;
    writeState(dataDir, st);
  } catch {
    /* the state cache is an optimisation; notarization goes on */
  }
}

export async function runNotarize(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const sep = argv.indexOf('--');
  const head = sep >= 0 ? argv.slice(0, sep) : argv;
  const extra = sep >= 0 ? argv.slice(sep + 1) : [];
  const parsed = parseCommandArgs(
    'agent notarize',
    head,
    { 'keychain-profile': { type: 'string' }, config: { type: 'string' }, sink: { type: 'string' } },
    HELP,
  );
  if (!parsed) return 0;
  const file = parsed.positionals[0];
  if (file === undefined || parsed.positionals.length > 1) throw new UsageError(`signwatch agent notarize: expected exactly one FILE\nTry 'signwatch agent notarize --help'.`);
  const sink = parseSinkSpec(parsed.values.sink);
  if (!sink) throw new UsageError(`signwatch agent notarize: --sink: expected ndjson:PATH or -`);
  const cfg = loadConfig(parsed.values.config, env);
  const profile = parsed.values['keychain-profile'] ?? keychainProfileOf(extra);
  if (profile) rememberNotaryProfile(cfg.dataDir, profile);
  const args = ['notarytool', 'submit', file, '--wait', '--output-format', 'json', ...(parsed.values['keychain-profile'] ? ['--keychain-profile', parsed.values['keychain-profile']] : []), ...extra];
  const r = await notarizeWithRetry(async () => {
    const out = await runCapture('xcrun', args, 6 * 3600_000);
    process.stdout.write(out.stdout);
    process.stderr.write(out.stderr);
    return out;
  }, cfg.notarize);
  const ev: WireEvent = baseEvent(cfg, 'notarize', Date.now(), env);
  ev.outcome = r.outcome;
  ev.durationMs = Math.min(r.durationMs, 86_400_000);
  ev.attempts = Math.min(r.attempts, 100);
  if (r.submissionId) ev.submissionId = r.submissionId;
  if (r.error) ev.error = r.error;
  if (r.attemptErrors.length) ev.attemptErrors = r.attemptErrors.slice(0, 100);
  emitEvents(cfg, [ev], sink);
  return r.outcome === 'accepted' ? 0 : 1;
}
