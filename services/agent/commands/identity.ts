/**
 * `signwatch agent identity import --p12 FILE --keychain P 3<keychain-password 4<p12-password`: step 3 of the
 * rollout (docs/rollout.md). Both passwords come from file descriptors and reach `security` on the stdin of
 * `security -q -i` only. The key may be used by /usr/bin/codesign and /usr/bin/productsign only (`-T`), the
 * partition list is set to `apple-tool:,apple:` and recorded as `agent exec` records it, and a test signature
 * proves codesign can use the key without UI.
 */
import { isAbsolute } from 'node:path';
import { parseCommandArgs } from '../../platform/cli.js';
import { UsageError } from '../../platform/errors.js';
import { loadConfig } from '../config.js';
import { importIdentity } from '../rollout.js';
import { parseSinkSpec } from '../spool/emit.js';
import { readPasswordFd } from './unlock.js';

const HELP = `Usage: signwatch agent identity import --p12 FILE --keychain PATH [--identity SHA1] [--config PATH] [--sink ndjson:PATH|-]
       3<keychain-password 4<p12-password

Import a signing identity (rollout step 3): unlock the keychain (password on FD 3), 'security import' the .p12
(its password on FD 4) allowing only /usr/bin/codesign and /usr/bin/productsign (-T), set the partition list
to apple-tool:,apple: (recorded like 'agent exec -- security set-key-partition-list'), then sign a scratch
binary non-interactively to prove codesign can use the key without a prompt. Passwords are never in argv.

Options:
  --p12 FILE        the PKCS#12 bundle
  --keychain PATH   the CI file keychain (absolute path)
  --identity SHA1   the identity to test-sign with (default: the first valid one in the keychain)
  --config PATH     agent config (default: $SIGNWATCH_AGENT_CONFIG or /usr/local/etc/signwatch/agent.json)
  --sink SPEC       write the events to ndjson:PATH or - (stdout) instead of the spool
  -h, --help        show this help

Exit status: 0 imported and verified; 1 a step failed (security's message is quoted: a wrong .p12 password is
"MAC verification failed during PKCS12 import (wrong password?)"); 2 bad usage.
`;

export async function runIdentity(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'import') throw new UsageError(`signwatch agent identity: unknown subcommand '${sub}' (only 'import')\nTry 'signwatch agent identity --help'.`);
  const parsed = parseCommandArgs(
    'agent identity import',
    rest,
    { p12: { type: 'string' }, keychain: { type: 'string' }, identity: { type: 'string' }, config: { type: 'string' }, sink: { type: 'string' } },
    HELP,
    false,
  );
  if (!parsed) return 0;
  const { p12, keychain, identity } = parsed.values;
  if (!p12) throw new UsageError(`signwatch agent identity import: --p12 FILE is required\nTry 'signwatch agent identity import --help'.`);
  if (!keychain) throw new UsageError(`signwatch agent identity import: --keychain PATH is required\nTry 'signwatch agent identity import --help'.`);
  if (!isAbsolute(keychain)) throw new UsageError(`signwatch agent identity import: --keychain ${keychain}: must be an absolute path`);
  if (identity !== undefined && !/^[0-9A-F]{40}$/.test(identity)) throw new UsageError(`signwatch agent identity import: --identity ${identity}: must be 40 upper-case hex digits (SHA-1)`);
  const sink = parseSinkSpec(parsed.values.sink);
  if (!sink) throw new UsageError(`signwatch agent identity import: --sink: expected ndjson:PATH or -`);
  const cfg = loadConfig(parsed.values.config, env);
  const keychainPassword = readPasswordFd(3);
  const p12Password = readPasswordFd(4);
  const id = await importIdentity({ cfg, sink, env, cmd: 'agent identity import' }, p12, keychain, keychainPassword, p12Password, identity);
  process.stderr.write(`signwatch agent identity import: ${id.sha1} "${id.name}" imported into ${keychain}; partition list apple-tool:,apple:; test signature ok\n`);
  return 0;
}
