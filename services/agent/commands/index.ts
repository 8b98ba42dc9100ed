/**
 * `signwatch agent <sub>`: dispatches to the sub-subcommands, each imported lazily so that `agent exec` (run once
 * per signing call) loads only the wrapper's own small files — no Kafka client, OpenTelemetry, pino or zod.
 */
import { UsageError } from '../../platform/errors.js';

const SUBCOMMANDS: Record<string, { summary: string; run: (argv: string[]) => Promise<number> }> = {
  exec: { summary: 'wrap codesign / productsign / notarytool / set-key-partition-list and record an event', run: async (a) => (await import('./exec.js')).runExec(a) },
  unlock: { summary: 'unlock a keychain with the password from FD 3 and record the latency', run: async (a) => (await import('./unlock.js')).runUnlock(a) },
  scan: { summary: 'report identities, certificates (expiry) and the search list; heartbeat', run: async (a) => (await import('./scan.js')).runScan(a) },
  clock: { summary: 'measure the clock offset with sntp', run: async (a) => (await import('./scan.js')).runClock(a) },
  notarize: { summary: 'notarytool submit with retries for Apple API / network failures only', run: async (a) => (await import('./notarize.js')).runNotarize(a) },
  run: { summary: 'the daemon: periodic scan, clock, heartbeat; ships the spool to Kafka', run: async (a) => (await import('./run.js')).runDaemon(a) },
  install: { summary: 'print the launchd LaunchAgent plist for the daemon', run: async (a) => (await import('./install.js')).runInstall(a) },
  keychain: { summary: 'create the CI file keychain (password on FD 3), never auto-locking (rollout step 2)', run: async (a) => (await import('./keychain.js')).runKeychain(a) },
  identity: { summary: 'import a .p12 with -T codesign/productsign, partition list, test signature (step 3)', run: async (a) => (await import('./identity.js')).runIdentity(a) },
  'ssh-command': { summary: "sshd ForceCommand: the fleet's search list, a session event, then the command (step 4)", run: async (a) => (await import('./ssh-command.js')).runSshCommand(a) },
  doctor: { summary: 'check that this host is production-ready; pass/fail table with fixes; doctor event', run: async (a) => (await import('./doctor.js')).runDoctor(a) },
  'rotate-after-leak': { summary: 'delete the keychain, recreate it from the vault, re-import, doctor (--yes)', run: async (a) => (await import('./rotate.js')).runRotate(a) },
};

function usage(): string {
  const w = Math.max(...Object.keys(SUBCOMMANDS).map((k) => k.length));
  return `Usage: signwatch agent <subcommand> [options]\n\nThe host agent of a Mac signing host.\n\nSubcommands:\n${Object.entries(SUBCOMMANDS)
    .map(([k, v]) => `  ${k.padEnd(w)}  ${v.summary}`)
    .join('\n')}\n\nRun 'signwatch agent <subcommand> --help' for its options.\n`;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(usage());
    return sub === undefined ? 2 : 0;
  }
  const entry = Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined; // argv is input: no prototype lookups
  if (!entry) throw new UsageError(`signwatch agent: unknown subcommand '${sub}'\n\n${usage()}`);
  return entry.run(rest);
}
