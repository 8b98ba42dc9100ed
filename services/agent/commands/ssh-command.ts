/**
 * `signwatch agent ssh-command`: the sshd `ForceCommand` of the CI user (rollout step 4, docs/rollout.md). Every SSH
 * session first gets the fleet's keychain search list (`security list-keychains -d user -s …`, the CI file keychain
 * first, never the login keychain), SIGNWATCH_CORRELATION_ID from the CI's variables when present, and a `session`
 * event (user, SSH_ORIGINAL_COMMAND with secret values scrubbed, search list before and after) fsync'd to the spool;
 * then it runs the original command. An interactive login (no command) is refused unless
 * `fleet.allowInteractiveSsh` is true.
 *
 * The original command is a shell command line written by the client: sshd itself runs it as `$SHELL -c "<line>"`
 * when there is no ForceCommand, and so does this wrapper (no interpolation is added: the line is one argument).
 */
import { spawn } from 'node:child_process';
import { constants, userInfo } from 'node:os';
import { parseCommandArgs } from '../../platform/cli.js';
import { CodedError, UsageError } from '../../platform/errors.js';
import { configPath, loadConfig, type AgentConfig } from '../config.js';
import { baseEvent, correlationIdFromEnv } from '../events.js';
import { parseKeychainList } from '../macos/security.js';
import { security, securityMessage } from '../rollout.js';
import { emitEvents, parseSinkSpec } from '../spool/emit.js';

const HELP = `Usage: signwatch agent ssh-command [--config PATH] [--sink ndjson:PATH|-]
       signwatch agent ssh-command --print-sshd-config [--user NAME] [--config PATH] [--bin PATH]

The sshd ForceCommand of the CI user (rollout step 4). For every SSH session: set the fleet's keychain search
list (config fleet.searchList, else the config's keychain), set SIGNWATCH_CORRELATION_ID from the CI variables
when present, record a 'session' event (user, SSH_ORIGINAL_COMMAND with passwords and tokens replaced by ***,
search list before and after), then run the original command with the user's shell, as sshd would.
An interactive login (no command) is refused unless fleet.allowInteractiveSsh is true.

Options:
  --config PATH         agent config (default: $SIGNWATCH_AGENT_CONFIG or /usr/local/etc/signwatch/agent.json)
  --sink SPEC           write the event to ndjson:PATH or - (stdout) instead of the spool
  --print-sshd-config   print the sshd_config 'Match User' block that installs this ForceCommand, and exit
  --user NAME           the CI user of that block (default ci)
  --bin PATH            signwatch entry point named in that block (default: this installation's bin/signwatch)
  -h, --help            show this help

Exit status: the original command's; 1 when the search list cannot be set or an interactive login is refused.
`;

const QUOTED = String.raw`("[^"]*"|'[^']*'|\S+)`;
const SECRET_PATTERNS: readonly RegExp[] = [
  // security's password flags (-p unlock/create, -k partition list, -P import, -w add-*-password)
  new RegExp(String.raw`(^|\s)(-[pkPw])(\s+)${QUOTED}`, 'g'),
  new RegExp(String.raw`(^|\s)(--(?:password|passphrase|pass|token|secret|api-key|apiKey)[A-Za-z_-]*)(=|\s+)${QUOTED}`, 'gi'),
  new RegExp(String.raw`(^|\s)([A-Za-z_][A-Za-z0-9_]*(?:PASSWORD|PASSWD|PASS|TOKEN|SECRET|APIKEY|API_KEY)[A-Za-z0-9_]*)(=)${QUOTED}`, 'gi'),
];

/** SSH_ORIGINAL_COMMAND as recorded: the values of password / token flags and variables become ***. */
export function scrubCommand(cmd: string): string {
  let out = cmd;
  for (const re of SECRET_PATTERNS) out = out.replace(re, (_m, lead: string, flag: string, sep: string) => `${lead}${flag}${sep}***`);
  return out.slice(0, 4096);
}

export function fleetSearchList(cfg: AgentConfig): string[] {
  if (cfg.fleet.searchList.length > 0) return [...cfg.fleet.searchList];
  return cfg.keychain ? [cfg.keychain] : [];
}

export function sshdConfigBlock(user: string, bin: string, config: string): string {
  return `# signwatch: every SSH session of ${user} gets the fleet's keychain search list and is recorded (docs/rollout.md step 4)
Match User ${user}
    ForceCommand ${bin} agent ssh-command --config ${config}
    PermitTTY no
    X11Forwarding no
    AllowAgentForwarding no
`;
}

async function searchList(): Promise<string[]> {
  const o = await security(['list-keychains', '-d', 'user']);
  return o.code === 0 ? parseKeychainList(o.stdout).slice(0, 64).map((s) => s.slice(0, 1024)) : [];
}

export async function runSshCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseCommandArgs(
    'agent ssh-command',
    argv,
    { config: { type: 'string' }, sink: { type: 'string' }, 'print-sshd-config': { type: 'boolean' }, user: { type: 'string' }, bin: { type: 'string' } },
    HELP,
    false,
  );
  if (!parsed) return 0;
  if (parsed.values['print-sshd-config']) {
    const config = configPath(parsed.values.config, env);
    const bin = parsed.values.bin ?? new URL('../../../../bin/signwatch', import.meta.url).pathname;
    const user = parsed.values.user ?? 'ci';
    if (!/^[a-z_][a-z0-9_.-]{0,31}$/i.test(user)) throw new UsageError(`signwatch agent ssh-command: --user ${user}: not a user name`);
    for (const [flag, p] of [['--config', config], ['--bin', bin]] as const) {
      if (!p.startsWith('/') || /\s/.test(p)) throw new UsageError(`signwatch agent ssh-command: ${flag} ${p}: must be an absolute path without spaces (sshd splits ForceCommand on spaces)`);
    }
    process.stdout.write(sshdConfigBlock(user, bin, config));
    return 0;
  }
  const sink = parseSinkSpec(parsed.values.sink);
  if (!sink) throw new UsageError(`signwatch agent ssh-command: --sink: expected ndjson:PATH or -`);
  const cfg = loadConfig(parsed.values.config, env);
  const wanted = fleetSearchList(cfg);
  if (wanted.length === 0) throw new UsageError(`signwatch agent ssh-command: config: set fleet.searchList (or keychain): the search list every session gets`);

  const user = env.USER ?? env.LOGNAME ?? userInfo().username;
  const original = env.SSH_ORIGINAL_COMMAND;
  const before = await searchList();
  const set = await security(['list-keychains', '-d', 'user', '-s', ...wanted]);
  const after = await searchList();
  const ev = baseEvent(cfg, 'session', Date.now(), env);
  ev.user = user.slice(0, 256) || 'unknown';
  if (original !== undefined && original !== '') ev.command = scrubCommand(original);
  ev.searchListBefore = before;
  ev.searchListAfter = after;
  const interactive = original === undefined || original === '';
  ev.outcome = set.code !== 0 ? 'fail' : interactive && !cfg.fleet.allowInteractiveSsh ? 'refused' : 'exec';
  emitEvents(cfg, [ev], sink); // audit before effect: the session is on disk before anything runs
  if (set.code !== 0) {
    throw new CodedError('SW_AGENT_SECURITY', `signwatch agent ssh-command: list-keychains -d user -s ${wanted.join(' ')}: ${securityMessage(set)} (the session does not run)`);
  }
  if (ev.outcome === 'refused') {
    throw new CodedError('SW_AGENT_REFUSED', `signwatch agent ssh-command: interactive login refused for ${user}: pass a command (ssh host <command>), or set fleet.allowInteractiveSsh`);
  }
  const childEnv: NodeJS.ProcessEnv = { ...env };
  const corr = correlationIdFromEnv(env);
  if (corr !== undefined) childEnv.SIGNWATCH_CORRELATION_ID = corr;
  const shell = env.SHELL && env.SHELL.startsWith('/') ? env.SHELL : '/bin/sh';
  return new Promise((resolve) => {
    const child = spawn(shell, interactive ? ['-l'] : ['-c', original], { stdio: 'inherit', env: childEnv });
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    const handlers = sigs.map((s) => [s, forward(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    child.on('error', (e) => {
      process.stderr.write(`signwatch agent ssh-command: ${shell}: ${e.message}\n`);
      resolve(127);
    });
    child.on('close', (code, signal) => {
      for (const [s, h] of handlers) process.off(s, h);
      resolve(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1));
    });
  });
}
