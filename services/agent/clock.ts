/**
 * The clock probe (used by the daemon and by `signwatch agent clock`, commands/scan.ts): run `sntp <server>`
 * (measure only, never set the clock) and turn the offset into a `clock` event. Failures (timeout, DNS, Kiss-of-death, clock select failed) produce no event — there is no
 * offset to report — and a coded result the daemon logs and counts.
 */
import type { AgentConfig } from './config.js';
import { baseEvent, type WireEvent } from './events.js';
import { runCapture } from './scan.js';
import { parseSntp, type SntpResult } from './macos/sntp.js';

export interface ClockProbe {
  result: SntpResult;
  event?: WireEvent;
}

export async function probeClock(cfg: AgentConfig, server: string, now: () => number = Date.now, env: NodeJS.ProcessEnv = process.env): Promise<ClockProbe> {
  const out = await runCapture('sntp', [server], cfg.sntp.timeoutMs);
  const result = parseSntp(`${out.stdout}\n${out.stderr}`);
  if (!result.ok) return { result };
  const ev = baseEvent(cfg, 'clock', now(), env);
  ev.offsetMs = result.offsetMs;
  ev.server = result.server;
  ev.errorMs = result.errorMs;
  return { result, event: ev };
}
