/**
 * `signwatch agent rotate-after-leak --yes --p12 FILE 3<new-keychain-password 4<p12-password`: the article's FAQ
 * ("how do I prove a host is safe after a suspected leak?"): delete the old keychain file entirely, recreate it
 * from the vault, re-import the identity, then run the doctor. Every step is recorded (an `acl` event for the
 * decision first, before anything is deleted); nothing happens without `--yes`.
 */
import { existsSync, rmSync } from 'node:fs';
import { parseCommandArgs } from '../../platform/cli.js';
import { CodedError, UsageError } from '../../platform/errors.js';
import { loadConfig } from '../config.js';
import { createKeychain, importIdentity, recordAcl, security, securityMessage } from '../rollout.js';
import { parseSinkSpec } from '../spool/emit.js';
import { doctor } from './doctor.js';
import { readPasswordFd } from './unlock.js';

const HELP = `Usage: signwatch agent rotate-after-leak --yes --p12 FILE [--keychain PATH] [--config PATH] [--sink ndjson:PATH|-]
       3<new-keychain-password 4<p12-password

After a suspected leak: delete the CI keychain file entirely (security delete-keychain, then the file if it is
still there), recreate it with the new vault password (FD 3), re-import the rotated identity (its .p12 password
on FD 4) with -T codesign/productsign and the apple-tool:,apple: partition list, then run 'agent doctor'.
Every step is recorded; the decision is recorded before anything is deleted. Then change the automation user's
password too (the article: cheap insurance on shared rental hardware) — this command does not do that.

Options:
  --yes             required: this deletes the keychain
  --p12 FILE        the rotated identity to import
  --keychain PATH   the keychain (default: the config's "keychain")
  --config PATH     agent config (default: $SIGNWATCH_AGENT_CONFIG or /usr/local/etc/signwatch/agent.json)
  --sink SPEC       write the events to ndjson:PATH instead of the spool
  -h, --help        show this help

Exit status: 0 rotated and the doctor passed; 1 a step failed or the doctor did not pass; 2 bad usage.
`;

export async function runRotate(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseCommandArgs(
    'agent rotate-after-leak',
    argv,
    { yes: { type: 'boolean' }, p12: { type: 'string' }, keychain: { type: 'string' }, config: { type: 'string' }, sink: { type: 'string' } },
    HELP,
    false,
  );
  if (!parsed) return 0;
  const cmd = 'agent rotate-after-leak';
  if (!parsed.values.yes) throw new CodedError('SW_AGENT_REFUSED', `signwatch ${cmd}: refusing to delete the keychain without --yes\nTry 'signwatch ${cmd} --help'.`);
  const p12 = parsed.values.p12;
  if (!p12) throw new UsageError(`signwatch ${cmd}: --p12 FILE is required (the rotated identity)`);
  const sink = parseSinkSpec(parsed.values.sink);
  if (!sink || sink.kind === 'stdout') throw new UsageError(`signwatch ${cmd}: --sink: expected ndjson:PATH`);
  const cfg = loadConfig(parsed.values.config, env);
  const keychain = parsed.values.keychain ?? cfg.keychain;
  if (!keychain) throw new UsageError(`signwatch ${cmd}: no keychain: pass --keychain PATH or set "keychain" in the agent config`);
  if (!keychain.startsWith('/')) throw new UsageError(`signwatch ${cmd}: --keychain ${keychain}: must be an absolute path`);
  if (!existsSync(p12)) throw new CodedError('SW_INPUT_UNREADABLE', `signwatch ${cmd}: --p12 ${p12}: no such file`);
  const keychainPassword = readPasswordFd(3);
  const p12Password = readPasswordFd(4);
  if (keychainPassword.length === 0) throw new UsageError(`signwatch ${cmd}: the new keychain password on file descriptor 3 is empty`);
  const ctx = { cfg, sink, env, cmd };
  const say = (s: string) => process.stderr.write(`signwatch ${cmd}: ${s}\n`);

  recordAcl(ctx, 'rotate-after-leak', keychain, { code: 0, outcome: 'started' });
  const del = await security(['delete-keychain', keychain]);
  recordAcl(ctx, 'delete-keychain', keychain, del);
  // a keychain that is already gone is fine (security: SecKeychainDelete: The specified keychain could not be found.)
  if (del.code !== 0 && !/could not be found/.test(del.stderr)) throw new CodedError('SW_AGENT_SECURITY', `signwatch ${cmd}: delete-keychain ${keychain}: ${securityMessage(del)}`);
  if (existsSync(keychain)) rmSync(keychain, { force: true });
  say(`1/4 deleted ${keychain}`);
  await createKeychain(ctx, keychain, keychainPassword);
  say(`2/4 recreated ${keychain} with the new vault password`);
  const id = await importIdentity(ctx, p12, keychain, keychainPassword, p12Password);
  say(`3/4 imported ${id.sha1} "${id.name}"; test signature ok`);
  say('4/4 doctor:');
  const ready = await doctor(cfg, sink, env, false);
  recordAcl(ctx, 'rotate-after-leak', keychain, { code: ready ? 0 : 1, outcome: ready ? 'ok' : 'fail' });
  say(ready ? 'done; now change the automation user password as well' : 'rotated, but the doctor found problems (above)');
  return ready ? 0 : 1;
}
