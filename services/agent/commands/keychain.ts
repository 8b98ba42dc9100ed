/**
 * `signwatch agent keychain create --path P 3<password`: step 2 of the rollout (docs/rollout.md). A file keychain
 * whose password comes from FD 3 only (through the stdin of `security -q -i`, never argv), settings that never lock
 * it during a build (`set-keychain-settings` with no option: no lock on sleep, no timeout), read back with
 * `show-keychain-info`. Each change is an `acl` event.
 */
import { isAbsolute } from 'node:path';
import { parseCommandArgs } from '../../platform/cli.js';
import { UsageError } from '../../platform/errors.js';
import { loadConfig } from '../config.js';
import { createKeychain } from '../rollout.js';
import { parseSinkSpec } from '../spool/emit.js';
import { readPasswordFd } from './unlock.js';

const HELP = `Usage: signwatch agent keychain create --path PATH [--config PATH] [--sink ndjson:PATH|-] 3<password-source

Create the CI file keychain (rollout step 2) with the password read from file descriptor 3 (e.g. from the vault:
3< <(vault read -field=password secret/signing)), set it never to lock during a build (no lock on sleep, no
inactivity timeout) and check the settings with 'security show-keychain-info'. Records 'acl' events
(create-keychain, set-keychain-settings). Refuses to replace an existing file.

Options:
  --path PATH     absolute path of the keychain (the fleet's standard path, e.g. the config's "keychain")
  --config PATH   agent config (default: $SIGNWATCH_AGENT_CONFIG or /usr/local/etc/signwatch/agent.json)
  --sink SPEC     write the events to ndjson:PATH or - (stdout) instead of the spool
  -h, --help      show this help

Exit status: 0 created; 1 security refused (its message is quoted) or the file exists; 2 bad usage.
`;

export async function runKeychain(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'create') throw new UsageError(`signwatch agent keychain: unknown subcommand '${sub}' (only 'create')\nTry 'signwatch agent keychain --help'.`);
  const parsed = parseCommandArgs('agent keychain create', rest, { path: { type: 'string' }, config: { type: 'string' }, sink: { type: 'string' } }, HELP, false);
  if (!parsed) return 0;
  const path = parsed.values.path;
  if (!path) throw new UsageError(`signwatch agent keychain create: --path PATH is required\nTry 'signwatch agent keychain create --help'.`);
  if (!isAbsolute(path)) throw new UsageError(`signwatch agent keychain create: --path ${path}: must be an absolute path (the same one on every host)`);
  const sink = parseSinkSpec(parsed.values.sink);
  if (!sink) throw new UsageError(`signwatch agent keychain create: --sink: expected ndjson:PATH or -`);
  const cfg = loadConfig(parsed.values.config, env);
  const password = readPasswordFd(3);
  if (password.length === 0) throw new UsageError(`signwatch agent keychain create: the password on file descriptor 3 is empty (use the vault's random password)`);
  const info = await createKeychain({ cfg, sink, env, cmd: 'agent keychain create' }, path, password);
  process.stderr.write(`signwatch agent keychain create: ${path}: created; ${info.lockOnSleep ? 'lock-on-sleep' : 'no lock on sleep'}, ${info.timeoutSec === null ? 'no timeout' : `timeout ${info.timeoutSec} s`}\n`);
  return 0;
}
