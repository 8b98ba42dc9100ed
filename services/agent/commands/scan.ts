/** `signwatch agent scan` and `signwatch agent clock`: one-shot versions of the daemon's periodic tasks. */
import { parseCommandArgs } from '../../platform/cli.js';
import { UsageError } from '../../platform/errors.js';
import { probeClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { emitEvents, parseSinkSpec, spoolDir } from '../spool/emit.js';
import { heartbeatEvent, notaryProfileOf, snapshotHost, stateFrom } from '../scan.js';
import { Spool } from '../spool/spool.js';
import { readState, writeState } from '../state.js';

const SCAN_HELP = `Usage: signwatch agent scan [--config PATH] [--sink ndjson:PATH|-]

Run security list-keychains, find-identity -p codesigning and find-certificate -a -p per keychain; record one
'cert' event per Apple signing certificate (revoked: true when find-identity says CSSMERR_TP_CERT_REVOKED) and a
'heartbeat' (parity fingerprint, spool depth and drops, the certSha1s inventory when every keychain was read, the
notaryProfile), and cache the search list and identities for 'agent exec'.

Options:
  --config PATH   agent config (default: $SIGNWATCH_AGENT_CONFIG or /usr/local/etc/signwatch/agent.json)
  --sink SPEC     write the events to ndjson:PATH or - (stdout) instead of the spool
  -h, --help      show this help
`;

const CLOCK_HELP = `Usage: signwatch agent clock [--server HOST] [--debug] [--config PATH] [--sink ndjson:PATH|-]

Measure the clock offset with 'sntp HOST' (never sets the clock) and record a 'clock' event. When sntp gives no
offset (timeout, DNS, Kiss-of-death, clock select failed, no offset line, a non-zero exit) the event has
outcome 'fail' and the reason, and the exit status is 1.

Options:
  --server HOST   NTP server (default: sntp.server in the config, time.apple.com)
  --debug         run 'sntp -d HOST' and record its output (bounded to 16 KiB) in the event's 'debug' field:
                  the block to log after a macOS upgrade
  --config PATH   agent config
  --sink SPEC     write the event to ndjson:PATH or - (stdout) instead of the spool
  -h, --help      show this help
`;

export async function runScan(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseCommandArgs('agent scan', argv, { config: { type: 'string' }, sink: { type: 'string' } }, SCAN_HELP, false);
  if (!parsed) return 0;
  const sink = parseSinkSpec(parsed.values.sink);
  if (!sink) throw new UsageError(`signwatch agent scan: --sink: expected ndjson:PATH or -`);
  const cfg = loadConfig(parsed.values.config, env);
  const snap = await snapshotHost(cfg, Date.now(), env);
  for (const p of snap.problems) process.stderr.write(`signwatch agent scan: ${p}\n`);
  const state = stateFrom(snap, readState(cfg.dataDir));
  writeState(cfg.dataDir, state);
  let stats;
  try {
    const spool = new Spool({ dir: spoolDir(cfg), maxEvents: cfg.spoolMaxEvents });
    stats = { depth: spool.depth(), dropped: spool.droppedTotal(false) };
  } catch {
    stats = undefined;
  }
  const r = emitEvents(cfg, [...snap.certs, heartbeatEvent(cfg, { ...snap, notaryProfile: notaryProfileOf(cfg, state) }, stats, Date.now(), env)], sink);
  for (const e of r.errors) process.stderr.write(`signwatch agent scan: ${e}\n`);
  return r.errors.length ? 1 : 0;
}

export async function runClock(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseCommandArgs(
    'agent clock',
    argv,
    { server: { type: 'string' }, debug: { type: 'boolean' }, config: { type: 'string' }, sink: { type: 'string' } },
    CLOCK_HELP,
    false,
  );
  if (!parsed) return 0;
  const sink = parseSinkSpec(parsed.values.sink);
  if (!sink) throw new UsageError(`signwatch agent clock: --sink: expected ndjson:PATH or -`);
  const cfg = loadConfig(parsed.values.config, env);
  const p = await probeClock(cfg, parsed.values.server ?? cfg.sntp.server, Date.now, env, { debug: parsed.values.debug === true });
  if (p.event.outcome === 'fail') process.stderr.write(`signwatch agent clock: sntp failed (${String(p.event.reason)})\n`);
  const r = emitEvents(cfg, [p.event], sink);
  for (const e of r.errors) process.stderr.write(`signwatch agent clock: ${e}\n`);
  return r.errors.length || p.event.outcome === 'fail' ? 1 : 0;
}
