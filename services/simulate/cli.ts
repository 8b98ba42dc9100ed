/** `signwatch simulate`: seeded fleet traffic as NDJSON on stdout (or --out FILE). */
import { createWriteStream } from 'node:fs';
import { REGIONS, type Region } from '../../schemas/events.js';
import { parseDuration } from '../platform/duration.js';
import { parseCommandArgs, type CommandModule } from '../platform/cli.js';
import { UsageError } from '../platform/errors.js';
import { toMs } from '../engine/time.js';
import { demoIncidents, simulate, type Incident } from './simulate.js';
import { defaultDrillScenario, drillScenarioLines } from './drill-scenario.js';

const HELP = `Usage: signwatch simulate [options]

Generate realistic fleet traffic (all five regions; codesign, unlock, notarize, cert, clock, heartbeat events)
as NDJSON, seeded and reproducible: the same options always give the same bytes. With the defaults it is the
demo scenario over about 3.5 h of event time, so 'signwatch simulate | signwatch replay -' shows the HK page firing
and resolving, the SG latency warning and the US certificate ticket.

Options:
  --seed N              random seed (default 1)
  --events N            number of traffic events (default 25000: about 3 h 28 min at the default rate); every
                        host also sends its heartbeat once a minute, as the agent daemon does (--heartbeat 0: none)
  --heartbeat SPAN      each host's heartbeat period (default 1m; 0 for none)
  --start TIME          event time of the start, RFC 3339 (default 2026-11-20T00:00:00.000Z)
  --rate N              events per second across the fleet, in event time (default 2)
  --hosts N             signing hosts per region (default 4; plus 1 compile host)
  --scenario NAME       demo (default: HK keychain lock at +1h, SG slow vault at +2h, US cert 18 days from
                        expiry) | none (background traffic only, plus any --incident) | drill (the quarterly drill:
                        a distribution certificate revoked at --start + 70m in HK, JP and US, each region rotating
                        at its own pace, one US host silent; only --seed, --start and --out apply)
  --incident SPEC       add an incident (repeatable): KIND:REGION@OFFSET[+DURATION][,key=value…]
                        kinds: keychain-lock (hosts=2, rate=0.6), slow-vault (median=1400),
                        expiring-cert (days=18), clock-skew (offset=4000), acl
                        e.g. keychain-lock:HK@1h+20m,hosts=2   slow-vault:SG@2h+40m,median=1500
  --duplicates F        fraction of re-sent duplicate lines (default 0)
  --late F              fraction of events delivered 10-30 min late (default 0)
  --malformed F         fraction of extra malformed lines (default 0)
  --out FILE            write to FILE instead of stdout
  -h, --help            show this help
`;

/** Enough event time (at the default rate) for every demo incident to fire and the HK page to resolve. */
export const DEFAULT_EVENTS = 25_000;

function num(name: string, v: string | undefined, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`signwatch simulate: --${name} must be a number in [${min}, ${max}], got "${v}"`);
  return n;
}

export function parseIncident(spec: string, start: number): Incident {
  const m = /^([a-z-]+):([A-Z]{2})@([0-9.]+(?:ms|s|m|h|d))(?:\+([0-9.]+(?:ms|s|m|h|d)))?((?:,[a-z]+=[0-9.]+)*)$/.exec(spec);
  if (!m) throw new UsageError(`signwatch simulate: --incident "${spec}" is not KIND:REGION@OFFSET[+DURATION][,key=value…]`);
  const [, kind, region, off, dur, kv] = m;
  if (!REGIONS.includes(region as Region)) throw new UsageError(`signwatch simulate: --incident "${spec}": region must be one of ${REGIONS.join(', ')}`);
  const at = start + parseDuration(off!)!;
  const duration = dur ? parseDuration(dur)! : 3_600_000;
  const opts = Object.fromEntries((kv ?? '').split(',').filter(Boolean).map((p) => p.split('=') as [string, string]));
  const o = (k: string, d: number) => (opts[k] !== undefined ? Number(opts[k]) : d);
  const r = region as Region;
  switch (kind) {
    case 'keychain-lock':
      return { kind, region: r, at, duration, hosts: o('hosts', 2), failureRate: o('rate', 0.6) };
    case 'slow-vault':
      return { kind, region: r, at, duration, medianMs: o('median', 1400) };
    case 'expiring-cert':
      return { kind, region: r, at, daysLeft: o('days', 18) };
    case 'clock-skew':
      return { kind, region: r, at, duration, offsetMs: o('offset', 4000) };
    case 'acl':
      return { kind, region: r, at };
    default:
      throw new UsageError(`signwatch simulate: --incident "${spec}": unknown kind "${kind}"`);
  }
}

export const command: CommandModule = {
  async run(argv) {
    const a = parseCommandArgs(
      'simulate',
      argv,
      {
        seed: { type: 'string' },
        events: { type: 'string' },
        start: { type: 'string' },
        rate: { type: 'string' },
        hosts: { type: 'string' },
        scenario: { type: 'string' },
        incident: { type: 'string', multiple: true },
        duplicates: { type: 'string' },
        late: { type: 'string' },
        malformed: { type: 'string' },
        heartbeat: { type: 'string' },
        out: { type: 'string' },
      },
      HELP,
      false,
    );
    if (!a) return 0;
    const v = a.values;
    const startText = v.start ?? '2026-11-20T00:00:00.000Z';
    const start = toMs(startText);
    if (!Number.isFinite(start)) throw new UsageError(`signwatch simulate: --start "${startText}" is not an RFC 3339 time`);
    const scenario = v.scenario ?? 'demo';
    if (scenario !== 'none' && scenario !== 'demo' && scenario !== 'drill') throw new UsageError(`signwatch simulate: --scenario must be none, demo or drill, got "${scenario}"`);
    const incidents = [...(scenario === 'demo' ? demoIncidents(start) : []), ...(v.incident ?? []).map((s) => parseIncident(s, start))];
    const heartbeatEvery = v.heartbeat === undefined ? 60_000 : v.heartbeat === '0' ? 0 : parseDuration(v.heartbeat);
    if (heartbeatEvery === undefined) throw new UsageError(`signwatch simulate: --heartbeat "${v.heartbeat}" is not a duration (e.g. 1m, 30s, or 0 for none)`);
    const drill = scenario === 'drill' ? defaultDrillScenario(start + 70 * 60_000, num('seed', v.seed, 17)) : undefined;
    const gen = drill ? drillScenarioLines(drill) : simulate({
      seed: num('seed', v.seed, 1),
      events: num('events', v.events, DEFAULT_EVENTS, 0, 1e9),
      start,
      ratePerSecond: num('rate', v.rate, 2, 0.0001, 1e6),
      hostsPerRegion: num('hosts', v.hosts, 4, 1, 1000),
      incidents,
      duplicateRate: num('duplicates', v.duplicates, 0, 0, 1),
      lateRate: num('late', v.late, 0, 0, 1),
      malformedRate: num('malformed', v.malformed, 0, 0, 1),
      heartbeatEvery,
    });
    const out: NodeJS.WritableStream = v.out ? createWriteStream(v.out) : process.stdout;
    let buf = '';
    for (const line of gen) {
      buf += line + '\n';
      if (buf.length > 1 << 16) {
        if (!out.write(buf)) await new Promise((r) => out.once('drain', r));
        buf = '';
      }
    }
    await new Promise<void>((resolve, reject) => {
      out.once('error', reject);
      if (v.out) out.end(buf, () => resolve());
      else out.write(buf, () => resolve());
    });
    return 0;
  },
};
export const run: CommandModule['run'] = (argv) => command.run(argv);
