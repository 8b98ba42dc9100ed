/**
 * `signwatch agent doctor [--json]`: what a careful engineer checks from a raw SSH session before a host joins the
 * pool (the article: "re-verify from a raw SSH session before declaring the host production-ready"). One line per
 * check with the fix for each failure; exit 0 only when every check passed. The result is a `doctor` event: the
 * processor exports signwatch_hosts_ready / signwatch_hosts_not_ready per region and signwatch_host_ready per host,
 * shown on the fleet dashboard.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { parseCommandArgs } from '../../platform/cli.js';
import { UsageError } from '../../platform/errors.js';
import { probeClock } from '../clock.js';
import { loadConfig, type AgentConfig } from '../config.js';
import { baseEvent, type WireEvent } from '../events.js';
import { parseFindIdentity, parseKeychainList, parsePartitionIds } from '../macos/security.js';
import { identitiesIn, keychainInfo, security, securityMessage, settingsProblem, testSignature } from '../rollout.js';
import { runCapture, wrapperSha256 } from '../scan.js';
import { emitEvents, parseSinkSpec, type SinkSpec } from '../spool/emit.js';
import { partitionIdsOf, readState } from '../state.js';
import { fetchBaseline, type FleetBaseline } from '../fleet-baseline.js';
import { fleetSearchList } from './ssh-command.js';

/** The fleet's values from the other hosts' heartbeats (fleet.baselineUrl), or why they could not be had. */
type Baseline = FleetBaseline | { error: string } | undefined;

const HELP = `Usage: signwatch agent doctor [--json] [--config PATH] [--sink ndjson:PATH|-]

Check that this host is production-ready, as from a raw SSH session: the CI keychain is a file keychain at the
fleet's path (not login), the search list is the fleet's, the keychain is unlocked and never auto-locks, every
signing identity's partition list has apple-tool:, a non-interactive test signature works (the
errSecInternalComponent trap), no distribution identity on a compile-pool host, no .p12 lying in home folders,
the notarytool profile is the fleet's, the clock offset is within fleet.maxClockOffsetMs, the wrapper checksum
and secret version are the fleet's, the launchd agent is loaded with an absolute config path.
Prints a pass/fail table with the fix for each failure and records a 'doctor' event (the fleet dashboard's
ready / not-ready hosts).

Options:
  --json          print the result as JSON instead of the table
  --config PATH   agent config (default: $SIGNWATCH_AGENT_CONFIG or /usr/local/etc/signwatch/agent.json)
  --sink SPEC     write the events to ndjson:PATH or - (stdout) instead of the spool
  -h, --help      show this help

Exit status: 0 every check passed; 1 at least one failed; 2 bad usage or config.
`;

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** The identity kinds that must never be on a compile-pool host (alerts/policy.yaml distribution_key_on_compile_host). */
export const DISTRIBUTION_KINDS: readonly string[] = ['Apple Distribution', 'iPhone Distribution', 'Developer ID Application', 'Developer ID Installer', '3rd Party Mac Developer'];

const pass = (name: string, detail: string): Check => ({ name, ok: true, detail });
const bad = (name: string, detail: string, fix: string): Check => ({ name, ok: false, detail, fix });

function isLogin(path: string): boolean {
  return /^login\.keychain(-db)?$/.test(basename(path));
}

function checkKeychainFile(cfg: AgentConfig): Check {
  const n = 'keychain_file';
  const kc = cfg.keychain;
  const fix = `signwatch agent keychain create --path <the fleet's path> 3<vault-secret, and set "keychain" in the agent config`;
  if (!kc) return bad(n, 'no "keychain" in the agent config', fix);
  if (isLogin(kc)) return bad(n, `${kc} is the login keychain`, fix);
  try {
    if (!statSync(kc).isFile()) return bad(n, `${kc} is not a file`, fix);
  } catch {
    return bad(n, `${kc} does not exist`, fix);
  }
  return pass(n, `${kc} is a file keychain`);
}

async function checkSearchList(cfg: AgentConfig, baseline: Baseline): Promise<Check> {
  const n = 'search_list';
  const fromHeartbeats = cfg.fleet.searchList.length === 0 && baseline && 'hosts' in baseline ? baseline.searchList : undefined;
  const wanted = fromHeartbeats ?? fleetSearchList(cfg);
  const fix = `run CI through 'signwatch agent ssh-command' (sshd ForceCommand), or: security list-keychains -d user -s ${wanted.join(' ') || '<keychain>'}`;
  const o = await security(['list-keychains', '-d', 'user']);
  if (o.code !== 0) return bad(n, `list-keychains: ${securityMessage(o)}`, fix);
  const list = parseKeychainList(o.stdout);
  if (list[0] !== undefined && isLogin(list[0])) return bad(n, `the login keychain is first: ${list.join(', ')}`, fix);
  if (wanted.length === 0) return bad(n, 'no fleet.searchList (or keychain) in the config to compare with', 'set fleet.searchList in the agent config');
  if (list.length < wanted.length || wanted.some((k, i) => list[i] !== k)) return bad(n, `is ${list.join(', ') || '(empty)'}; the fleet's is ${wanted.join(', ')}`, fix);
  return pass(n, `the fleet's: ${list.join(', ')}`);
}

async function checkUnlocked(cfg: AgentConfig): Promise<Check> {
  const n = 'keychain_unlocked';
  const kc = cfg.keychain;
  if (!kc) return bad(n, 'no keychain configured', 'set "keychain" in the agent config');
  const { out, info } = await keychainInfo(kc);
  if (!info) return bad(n, `show-keychain-info: ${securityMessage(out)}`, `signwatch agent unlock --keychain ${kc} 3<vault-secret`);
  const problem = settingsProblem(info);
  if (problem) return bad(n, `unlocked, but it ${problem} (a build can see it lock)`, `security set-keychain-settings ${kc}`);
  return pass(n, 'unlocked; no lock on sleep, no timeout');
}

async function checkIdentities(cfg: AgentConfig): Promise<Check[]> {
  const kc = cfg.keychain;
  if (!kc) return [bad('partition_list', 'no keychain configured', 'set "keychain" in the agent config'), bad('test_signature', 'no keychain configured', 'set "keychain" in the agent config')];
  const { out, identities } = await identitiesIn(kc);
  const signing = identities.filter((i) => i.sha1 !== undefined);
  if (out.code !== 0 || signing.length === 0) {
    const why = out.code !== 0 ? `find-identity: ${securityMessage(out)}` : `no valid code-signing identity in ${kc}`;
    const fix = `signwatch agent identity import --p12 FILE --keychain ${kc} 3<keychain-secret 4<p12-secret`;
    return [bad('partition_list', why, fix), bad('test_signature', why, fix)];
  }
  // the partition list the wrapper recorded for this keychain (agent identity import / agent exec), else dump-keychain
  let ids = partitionIdsOf(readState(cfg.dataDir), kc);
  let from = 'recorded by the wrapper';
  if (ids.length === 0) {
    const dump = await security(['dump-keychain', '-a', kc], 30_000);
    ids = dump.code === 0 ? parsePartitionIds(dump.stdout) : [];
    from = 'dump-keychain -a';
  }
  const fixAcl = `signwatch agent exec --password-fd 3 -- security set-key-partition-list -S apple-tool:,apple: -s ${kc} 3<vault-secret (inside a maintenance window)`;
  const partition = ids.length === 0
    ? bad('partition_list', `no partition list known for ${kc}`, fixAcl)
    : ids.includes('apple-tool:')
      ? pass('partition_list', `${ids.join(',')} (${from})`)
      : bad('partition_list', `${ids.join(',')} (${from}) lacks apple-tool: — codesign fails with errSecInternalComponent without UI`, fixAcl);
  const first = signing[0];
  const sig = first?.sha1 ? await testSignature(first.sha1, kc) : { ok: false, code: 'no_identity', message: '' };
  const test = sig.ok
    ? pass('test_signature', `signed a scratch binary with ${first?.sha1 ?? ''} without UI`)
    : bad('test_signature', `${sig.code ?? 'failed'}: ${sig.message ?? ''}`.slice(0, 1024), `signwatch agent unlock --keychain ${kc} 3<vault-secret; then fix partition_list; re-import with 'signwatch agent identity import' if a human touched the identity over VNC`);
  return [partition, test];
}

async function checkDistribution(cfg: AgentConfig): Promise<Check> {
  const n = 'no_distribution_on_compile_host';
  if (cfg.pool !== 'compile') return pass(n, `pool is ${cfg.pool}`);
  const o = await security(['find-identity', '-p', 'codesigning']);
  if (o.code !== 0) return bad(n, `find-identity: ${securityMessage(o)}`, 'make the keychains readable, then re-run');
  const found = parseFindIdentity(o.stdout).filter((i) => DISTRIBUTION_KINDS.some((k) => i.name.startsWith(k)));
  if (found.length > 0) {
    return bad(n, `distribution identities on a compile-pool host: ${found.map((i) => `${i.hash} "${i.name}"`).join(', ')}`.slice(0, 1024), 'security delete-identity -Z <SHA1> <keychain> for each, and keep distribution keys on signing-pool hosts');
  }
  return pass(n, 'no distribution identity');
}

/** .p12 / .pfx files under the folders, depth ≤ 5, not following symlinks, skipping Library and dot folders. */
export function strayP12(dirs: readonly string[], limit = 20): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (out.length >= limit || depth > 5) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (out.length >= limit) return;
      const p = join(dir, e.name);
      if (e.isFile() && /\.(p12|pfx)$/i.test(e.name)) out.push(p);
      else if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'Library' && e.name !== 'node_modules') walk(p, depth + 1);
    }
  };
  for (const d of dirs) walk(d, 0);
  return out;
}

function checkP12(cfg: AgentConfig): Check {
  const n = 'no_stray_p12';
  const found = strayP12(cfg.fleet.p12SearchDirs);
  if (found.length > 0) return bad(n, `found ${found.join(', ')}`.slice(0, 1024), 'delete them (the identity lives in the CI keychain and the vault only)');
  return pass(n, `none under ${cfg.fleet.p12SearchDirs.join(', ')}`);
}

function checkNotary(cfg: AgentConfig): Check {
  const n = 'notary_profile';
  const want = cfg.fleet.notaryProfile;
  if (want === undefined) return pass(n, 'not checked (no fleet.notaryProfile)');
  const used = readState(cfg.dataDir).notaryProfile;
  if (used !== want) return bad(n, used === undefined ? 'no notarytool profile used on this host yet' : `uses "${used}", the fleet's is "${want}"`, `xcrun notarytool store-credentials ${want} --keychain ${cfg.keychain ?? '<keychain>'}, then notarize with --keychain-profile ${want}`);
  return pass(n, `"${want}"`);
}

async function checkClock(cfg: AgentConfig, sink: SinkSpec, env: NodeJS.ProcessEnv): Promise<Check> {
  const n = 'clock_offset';
  const probe = await probeClock(cfg, cfg.sntp.server, Date.now, env);
  emitEvents(cfg, [probe.event], sink);
  const max = cfg.fleet.maxClockOffsetMs;
  const fix = `sudo sntp -sS ${cfg.sntp.server}; check that timed runs and the network reaches NTP`;
  const reason = typeof probe.event.reason === 'string' ? probe.event.reason : (probe.failure ?? 'no offset');
  if (!probe.result.ok) return bad(n, `sntp ${cfg.sntp.server}: ${reason}`, fix);
  const off = probe.result.offsetMs;
  return Math.abs(off) <= max ? pass(n, `${off} ms (max ${max})`) : bad(n, `${off} ms is beyond ${max} ms`, fix);
}

function checkParity(cfg: AgentConfig, baseline: Baseline): Check {
  const n = 'parity';
  const fix = "install the fleet's signwatch build and keychain secret version (the other hosts' heartbeats show them)";
  if (baseline && 'error' in baseline) return bad(n, `fleet baseline from ${cfg.fleet.baselineUrl ?? ''}: ${baseline.error}`, 'check fleet.baselineUrl / baselineTokenFile, or pin fleet.wrapperSha256 and fleet.secretVersion');
  const voted = baseline && 'hosts' in baseline ? baseline : undefined;
  const wantWrapper = cfg.fleet.wrapperSha256 ?? voted?.wrapperSha256;
  const wantSecret = cfg.fleet.secretVersion ?? voted?.secretVersion;
  const problems: string[] = [];
  const mine = wrapperSha256();
  if (wantWrapper !== undefined && wantWrapper !== mine) problems.push(`wrapper ${mine.slice(0, 12)}… ≠ fleet ${wantWrapper.slice(0, 12)}…`);
  if (wantSecret !== undefined && wantSecret !== cfg.secretVersion) problems.push(`secret version ${cfg.secretVersion} ≠ fleet ${wantSecret}`);
  const source = voted ? ` (majority of ${voted.hosts} hosts' last heartbeats where the config pins nothing)` : '';
  if (problems.length) return bad(n, `${problems.join('; ')}${source}`, fix);
  const checked = [wantWrapper !== undefined ? 'wrapper' : '', wantSecret !== undefined ? 'secret version' : ''].filter(Boolean);
  return pass(n, checked.length ? `${checked.join(' and ')} equal to the fleet's${source}` : 'not compared (no fleet.wrapperSha256 / fleet.secretVersion / fleet.baselineUrl)');
}

/** The `--config` value in a LaunchAgent plist's ProgramArguments (undefined when there is none). */
export function plistConfigArg(plist: string): { args: string[]; config: string | undefined } {
  const m = /<key>ProgramArguments<\/key>\s*<array>([\s\S]*?)<\/array>/.exec(plist);
  const unxml = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  const args = [...(m?.[1] ?? '').matchAll(/<string>([\s\S]*?)<\/string>/g)].map((x) => unxml(x[1] ?? ''));
  const i = args.indexOf('--config');
  const eq = args.find((a) => a.startsWith('--config='));
  return { args, config: i >= 0 ? args[i + 1] : eq?.slice('--config='.length) };
}

async function checkLaunchd(cfg: AgentConfig, env: NodeJS.ProcessEnv): Promise<Check> {
  const n = 'launchd_agent';
  const file = cfg.fleet.launchdPlist;
  const fix = `signwatch agent install --print-plist --config <absolute path> > ${file}; launchctl bootstrap gui/$(id -u) ${file}`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return bad(n, `${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`, fix);
  }
  const { config } = plistConfigArg(text);
  if (config === undefined) return bad(n, `${file}: ProgramArguments has no --config`, fix);
  if (!isAbsolute(config)) return bad(n, `${file}: --config ${config} is a relative path (launchd starts the agent in /)`, fix);
  const uid = typeof process.getuid === 'function' ? process.getuid() : Number(env.UID ?? 0);
  const target = `gui/${uid}/${cfg.fleet.launchdLabel}`;
  const o = await runCapture('launchctl', ['print', target], 10_000);
  if (o.spawnError) return bad(n, `launchctl: ${o.spawnError}`, fix);
  if (o.code !== 0) return bad(n, `${target} is not loaded (launchctl print exit ${o.code})`, fix);
  return pass(n, `${target} loaded, --config ${config}`);
}

export async function runChecks(cfg: AgentConfig, sink: SinkSpec, env: NodeJS.ProcessEnv): Promise<Check[]> {
  let baseline: Baseline;
  if (cfg.fleet.baselineUrl !== undefined) {
    try {
      baseline = await fetchBaseline(cfg.fleet.baselineUrl, cfg.fleet.baselineTokenFile, cfg.host);
    } catch (e) {
      baseline = { error: (e as Error).message };
    }
  }
  return [
    checkKeychainFile(cfg),
    await checkSearchList(cfg, baseline),
    await checkUnlocked(cfg),
    ...(await checkIdentities(cfg)),
    await checkDistribution(cfg),
    checkP12(cfg),
    checkNotary(cfg),
    await checkClock(cfg, sink, env),
    checkParity(cfg, baseline),
    await checkLaunchd(cfg, env),
  ];
}

export function doctorEvent(cfg: AgentConfig, checks: readonly Check[], durationMs: number, env: NodeJS.ProcessEnv): WireEvent {
  const ev = baseEvent(cfg, 'doctor', Date.now(), env);
  ev.ready = checks.every((c) => c.ok);
  ev.checks = checks.map((c) => ({ name: c.name, ok: c.ok, detail: c.detail.slice(0, 1024), ...(c.fix !== undefined ? { fix: c.fix.slice(0, 1024) } : {}) }));
  ev.durationMs = Math.max(0, Math.min(86_400_000, Math.round(durationMs)));
  return ev;
}

export function renderTable(checks: readonly Check[]): string {
  const w = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.map((c) => `${c.ok ? 'PASS' : 'FAIL'}  ${c.name.padEnd(w)}  ${c.detail}${c.ok || !c.fix ? '' : `\n      ${' '.repeat(w)}  fix: ${c.fix}`}`);
  const failed = checks.filter((c) => !c.ok).length;
  return `${lines.join('\n')}\n\n${failed === 0 ? 'READY: every check passed' : `NOT READY: ${failed} of ${checks.length} checks failed`}\n`;
}

/** Run every check, print, record; true when ready. */
export async function doctor(cfg: AgentConfig, sink: SinkSpec, env: NodeJS.ProcessEnv, json: boolean): Promise<boolean> {
  const t0 = performance.now();
  const checks = await runChecks(cfg, sink, env);
  const ev = doctorEvent(cfg, checks, performance.now() - t0, env);
  emitEvents(cfg, [ev], sink);
  process.stdout.write(json ? `${JSON.stringify({ host: cfg.host, region: cfg.region, ready: ev.ready, checks: ev.checks }, null, 2)}\n` : renderTable(checks));
  return ev.ready === true;
}

export async function runDoctor(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseCommandArgs('agent doctor', argv, { json: { type: 'boolean' }, config: { type: 'string' }, sink: { type: 'string' } }, HELP, false);
  if (!parsed) return 0;
  const sink = parseSinkSpec(parsed.values.sink);
  if (!sink) throw new UsageError(`signwatch agent doctor: --sink: expected ndjson:PATH or -`);
  if (sink.kind === 'stdout') throw new UsageError(`signwatch agent doctor: --sink -: the report is on stdout; use ndjson:PATH`);
  const cfg = loadConfig(parsed.values.config, env);
  return (await doctor(cfg, sink, env, parsed.values.json === true)) ? 0 : 1;
}
