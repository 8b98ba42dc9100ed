/**
 * `signwatch dashboards generate|check|schema`: writes the bundled dashboards (dashboards/json/*.json) from the
 * TypeScript sources and the alert policy, checks the committed files (drift, JSON Schema, variables, data
 * sources), or rewrites the generated JSON Schema (dashboards/schema/dashboard.schema.json).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandArgs } from '../../services/platform/cli.js';
import { UsageError } from '../../services/platform/errors.js';
import { buildDashboards, render } from './index.js';
import { loadDashboardPolicy } from './policy.js';
import { generateDashboardSchema, loadDashboardSchema, renderSchema, SCHEMA_PATH } from './schema.js';
import { compileSchema, lintDashboard, readProvisionedDatasources, schemaErrors, type AnyDashboard } from './validate.js';

export const JSON_DIR = fileURLToPath(new URL('../../../dashboards/json/', import.meta.url));

const HELP = `Usage: signwatch dashboards <generate|check|schema> [options]

  generate   write dashboards/json/*.json from dashboards/src and the alert policy
  check      fail (exit 1) when the committed JSON drifts from the sources, breaks the JSON Schema,
             uses an undeclared $variable or an unprovisioned data source uid
  schema     rewrite dashboards/schema/dashboard.schema.json from the foundation SDK types

Options:
  --out DIR       directory of the dashboard JSON (default: dashboards/json)
  --policy FILE   alert policy (default: alerts/policy.yaml; policy defaults when it does not exist)
  -h, --help      show this help
`;

export function run(argv: string[]): Promise<number> {
  return Promise.resolve().then(() => runSync(argv));
}

function runSync(argv: string[]): number {
  const args = parseCommandArgs('dashboards', argv, { out: { type: 'string' }, policy: { type: 'string' } }, HELP, true, ['generate', 'check', 'schema']);
  if (!args) return 0;
  const [action, ...rest] = args.positionals;
  if (rest.length > 0) throw new UsageError(`signwatch dashboards: unexpected argument '${rest[0]}'`);
  const dir = args.values.out ?? JSON_DIR;
  const policyPath = args.values.policy;
  if (policyPath !== undefined && !existsSync(policyPath)) throw new UsageError(`signwatch dashboards: --policy: no such file '${policyPath}'`);
  switch (action) {
    case 'generate': {
      mkdirSync(dir, { recursive: true });
      for (const b of buildDashboards(loadDashboardPolicy(policyPath))) {
        writeFileSync(join(dir, b.file), render(b.dashboard));
        process.stdout.write(`wrote ${join(dir, b.file)}\n`);
      }
      return 0;
    }
    case 'check': {
      const problems = checkDashboards(dir, policyPath);
      for (const p of problems) process.stderr.write(`${p}\n`);
      if (problems.length === 0) process.stdout.write('dashboards: OK\n');
      return problems.length === 0 ? 0 : 1;
    }
    case 'schema': {
      writeFileSync(SCHEMA_PATH, renderSchema(generateDashboardSchema()));
      process.stdout.write(`wrote ${SCHEMA_PATH}\n`);
      return 0;
    }
    case undefined:
      throw new UsageError(`signwatch dashboards: missing action (generate, check or schema)\nTry 'signwatch dashboards --help'.`);
    default:
      throw new UsageError(`signwatch dashboards: unknown action '${action}' (generate, check or schema)`);
  }
}

/** Everything `check` verifies, as a list of problems. */
/** `policyPath` undefined: alerts/policy.yaml, or the defaults when it does not exist. */
export function checkDashboards(dir: string = JSON_DIR, policyPath?: string): string[] {
  const problems: string[] = [];
  const validate = compileSchema(loadDashboardSchema());
  const provisioned = readProvisionedDatasources();
  const uids = new Set<string>();
  for (const b of buildDashboards(loadDashboardPolicy(policyPath))) {
    const path = join(dir, b.file);
    if (!existsSync(path)) {
      problems.push(`${b.file}: missing; run 'signwatch dashboards generate'`);
      continue;
    }
    const text = readFileSync(path, 'utf8');
    if (text !== render(b.dashboard)) problems.push(`${b.file}: differs from what dashboards/src generates; run 'signwatch dashboards generate'`);
    const json = JSON.parse(text) as AnyDashboard;
    for (const e of schemaErrors(validate, json)) problems.push(`${b.file}: schema: ${e}`);
    for (const e of lintDashboard(json, provisioned)) problems.push(`${b.file}: ${e}`);
    if (json.uid === undefined || uids.has(json.uid)) problems.push(`${b.file}: missing or duplicate dashboard uid '${json.uid ?? ''}'`);
    else uids.add(json.uid);
  }
  return problems;
}
