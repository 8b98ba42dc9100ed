/**
 * `signwatch alerts generate|check`: regenerate the Prometheus rules, promtool tests, Alertmanager config,
 * Grafana provisioning and runbook blocks from the policy, or check that the committed files have not drifted.
 */
import { parseCommandArgs, UsageError, type CommandModule } from '../common/cli.js';
import { DEFAULT_POLICY_PATH, loadPolicy } from './policy-file.js';
import { ALERTS_DIR, checkDrift, writeFiles } from './generate/index.js';

const HELP = `Usage: signwatch alerts <generate|check> [--policy FILE] [--out DIR]

  generate   write alerts/prometheus, alerts/alertmanager, alerts/grafana and the generated block of
             alerts/runbooks/*.md from the policy
  check      exit 1 when a generated file differs from what the policy generates (drift)

Options:
  --policy FILE   policy file (default: ${DEFAULT_POLICY_PATH})
  --out DIR       alerts directory (default: ${ALERTS_DIR})
  -h, --help      this help
`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs('alerts', argv, { policy: { type: 'string' }, out: { type: 'string' } }, HELP);
  if (!args) return 0;
  const [sub, ...extra] = args.positionals;
  if (sub !== 'generate' && sub !== 'check') {
    throw new UsageError(`signwatch alerts: expected a subcommand 'generate' or 'check'${sub ? `, got '${sub}'` : ''}\nTry 'signwatch alerts --help'.`);
  }
  if (extra.length > 0) throw new UsageError(`signwatch alerts ${sub}: unexpected argument '${extra[0]}'`);
  const policy = loadPolicy(args.values.policy ?? DEFAULT_POLICY_PATH);
  const dir = args.values.out ?? ALERTS_DIR;
  await Promise.resolve();
  if (sub === 'generate') {
    const changed = writeFiles(policy, dir);
    process.stdout.write(changed.length ? `updated:\n${changed.map((f) => `  ${f}\n`).join('')}` : 'up to date\n');
    return 0;
  }
  const drift = checkDrift(policy, dir);
  for (const d of drift) {
    process.stderr.write(
      d.reason === 'missing'
        ? `drift: ${d.file}: missing (run 'signwatch alerts generate')\n`
        : `drift: ${d.file}:${d.line}: expected ${JSON.stringify(d.expected)}, found ${JSON.stringify(d.actual)}\n`,
    );
  }
  if (drift.length === 0) process.stdout.write('no drift: generated alert files match the policy\n');
  return drift.length === 0 ? 0 : 1;
}

const mod: CommandModule = { run };
export default mod;
