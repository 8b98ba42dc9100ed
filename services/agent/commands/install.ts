/**
 * `signwatch agent install --print-plist`: a launchd LaunchAgent for the daemon (RunAtLoad, KeepAlive, logs to
 * StandardOutPath / StandardErrorPath). It holds no secret: the config file names the keychain and the secret
 * *version*; keychain passwords only ever reach `agent unlock` on file descriptor 3.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandArgs } from '../../platform/cli.js';
import { UsageError } from '../../platform/errors.js';
import { escapeControl, hasControl } from '../../platform/text.js';
import { DEFAULT_CONFIG_PATH } from '../config.js';

const HELP = `Usage: signwatch agent install --print-plist [--config PATH] [--log-dir DIR] [--label LABEL] [--node PATH] [--bin PATH]

Print a launchd LaunchAgent plist that runs 'signwatch agent run' at load and keeps it alive. Save it as
~/Library/LaunchAgents/<label>.plist and load it with 'launchctl bootstrap gui/$(id -u) <file>'.

Options:
  --print-plist   print the plist on stdout (required: this command never writes system files)
  --config PATH   agent config passed to the daemon, an absolute path (default ${DEFAULT_CONFIG_PATH})
  --log-dir DIR   directory of agent.out.log / agent.err.log, absolute (default /usr/local/var/log/signwatch)
  --label LABEL   launchd label (default com.signwatch.agent)
  --node PATH     node binary, absolute (default: the one running this command)
  --bin PATH      signwatch entry point, absolute (default: this installation's bin/signwatch)
  -h, --help      show this help

launchd starts the agent from / with no shell: every path must be absolute, and no value may hold a control
character (XML 1.0 cannot carry one, so the plist would be malformed); such values are refused.
`;

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export interface PlistOptions {
  label: string;
  node: string;
  bin: string;
  config: string;
  logDir: string;
}

const FLAG: Record<keyof PlistOptions, string> = { label: '--label', node: '--node', bin: '--bin', config: '--config', logDir: '--log-dir' };

/** Refuses what launchd could not use: control characters anywhere, relative paths, a label that is not a name. */
export function checkPlistOptions(o: PlistOptions): void {
  for (const k of ['label', 'node', 'bin', 'config', 'logDir'] as const) {
    const v = o[k];
    if (v === '') throw new UsageError(`signwatch agent install: ${FLAG[k]}: must not be empty`);
    if (hasControl(v)) {
      throw new UsageError(`signwatch agent install: ${FLAG[k]}: "${escapeControl(v)}" holds a control character (a plist cannot carry it)`);
    }
    if (k !== 'label' && !isAbsolute(v)) {
      throw new UsageError(`signwatch agent install: ${FLAG[k]}: "${v}" is a relative path: launchd starts the agent from /, give an absolute path (e.g. ${resolve(v)})`);
    }
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(o.label)) {
    throw new UsageError(`signwatch agent install: --label: "${o.label}" must be a reverse-DNS name (letters, digits, '.', '-', '_'), e.g. com.signwatch.agent`);
  }
}

export function renderPlist(o: PlistOptions): string {
  checkPlistOptions(o);
  const args = [o.node, o.bin, 'agent', 'run', '--config', o.config].map((a) => `    <string>${xml(a)}</string>`).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${xml(o.label)}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <true/>
  <key>ThrottleInterval</key>
  <integer>10</integer>
  <key>ProcessType</key>
  <string>Background</string>
  <key>StandardOutPath</key>
  <string>${xml(`${o.logDir}/agent.out.log`)}</string>
  <key>StandardErrorPath</key>
  <string>${xml(`${o.logDir}/agent.err.log`)}</string>
</dict>
</plist>
`;
}

export function runInstall(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    'agent install',
    argv,
    {
      'print-plist': { type: 'boolean' }, config: { type: 'string' }, 'log-dir': { type: 'string' },
      label: { type: 'string' }, node: { type: 'string' }, bin: { type: 'string' },
    },
    HELP,
    false,
  );
  if (!parsed) return Promise.resolve(0);
  if (!parsed.values['print-plist']) throw new UsageError(`signwatch agent install: --print-plist is required (this command never writes system files)`);
  const here = dirname(fileURLToPath(import.meta.url)); // dist/services/agent
  process.stdout.write(
    renderPlist({
      label: parsed.values.label ?? 'com.signwatch.agent',
      node: parsed.values.node ?? process.execPath,
      bin: parsed.values.bin ?? resolve(here, '..', '..', '..', 'bin', 'signwatch'),
      config: parsed.values.config ?? DEFAULT_CONFIG_PATH,
      logDir: parsed.values['log-dir'] ?? '/usr/local/var/log/signwatch',
    }),
  );
  return Promise.resolve(0);
}
