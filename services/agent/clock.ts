/**
 * The clock probe (used by the daemon and by `signwatch agent clock`, commands/scan.ts): run `sntp <server>`
 * (measure only, never set the clock) and turn the result into a `clock` event. Every probe is an event:
 *   - an offset (the `+0.000906 +/- …` line, or with -d a `result: 0` exchange block): outcome `ok`, offsetMs;
 *   - no offset: outcome `fail` with a `reason` — `timeout`, `dns`, `kiss_of_death`, `not_synchronized`,
 *     `clock_select_failed`, `failed` (another `Exchange failed: …`), `no_offset` (exit 0 but nothing parseable),
 *     `exit N` (sntp failed and printed nothing we know), `not_found` (no sntp), followed by sntp's own words;
 *     so the engine's clock_unverified rule sees a host whose clock nobody can vouch for.
 * `debug: true` runs `sntp -d <server>` and keeps its output (bounded) in the event's `debug` field: the block the
 * source article asks to log after macOS upgrades.
 */
import type { AgentConfig } from './config.js';
import { baseEvent, type WireEvent } from './events.js';
import { runCapture, type ToolOutput } from './scan.js';
import { parseSntp, type SntpResult } from './macos/sntp.js';

/** The schema's bound on `debug` (schemas/events.ts ClockEvent). */
export const MAX_DEBUG = 16_384;
const MAX_REASON = 512;

export interface ClockProbe {
  result: SntpResult;
  /** Short failure code (see above) when there is no offset. */
  failure?: string;
  event: WireEvent;
}

/** Keep the head and the tail of a long debug dump, with a marker saying how much was cut. */
export function boundDebug(text: string, max = MAX_DEBUG): string {
  if (text.length <= max) return text;
  let cut = text.length - max;
  for (let i = 0; i < 4; i++) {
    const marker = `\n… [${cut} characters cut] …\n`;
    const keep = max - marker.length;
    if (text.length - keep === cut || i === 3) {
      const head = Math.ceil(keep / 2);
      return `${text.slice(0, head)}${marker}${text.slice(text.length - (keep - head))}`;
    }
    cut = text.length - keep;
  }
  return text.slice(0, max);
}

/** Why sntp gave no offset, as a short code (first) and sntp's words. */
export function failureOf(out: ToolOutput, result: Extract<SntpResult, { ok: false }>): { code: string; reason: string } {
  if (out.spawnError === 'ENOENT') return { code: 'not_found', reason: 'not_found: sntp is not on PATH' };
  if (out.timedOut) return { code: 'timeout', reason: 'timeout: sntp did not finish within sntp.timeoutMs' };
  if (result.code !== 'unparsed') return { code: result.code, reason: `${result.code}: ${result.reason}` };
  if (out.code === 0) return { code: 'no_offset', reason: `no_offset: ${result.reason}` };
  return { code: `exit ${out.code}`, reason: `exit ${out.code}: ${result.reason}` };
}

export async function probeClock(
  cfg: AgentConfig,
  server: string,
  now: () => number = Date.now,
  env: NodeJS.ProcessEnv = process.env,
  opts: { debug?: boolean } = {},
): Promise<ClockProbe> {
  const out = await runCapture('sntp', opts.debug ? ['-d', server] : [server], cfg.sntp.timeoutMs);
  const text = [out.stdout, out.stderr].filter((s) => s !== '').join('\n');
  const result = parseSntp(text);
  const ev = baseEvent(cfg, 'clock', now(), env);
  let failure: string | undefined;
  if (result.ok) {
    ev.outcome = 'ok';
    ev.offsetMs = result.offsetMs;
    ev.server = result.server.slice(0, 253) || server;
    ev.errorMs = result.errorMs;
  } else {
    const f = failureOf(out, result);
    failure = f.code;
    ev.outcome = 'fail';
    ev.server = server.slice(0, 253);
    ev.reason = f.reason.slice(0, MAX_REASON);
  }
  if (opts.debug) ev.debug = boundDebug(text);
  return { result, event: ev, ...(failure !== undefined ? { failure } : {}) };
}
