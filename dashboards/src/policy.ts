/**
 * The alert policy as the dashboards see it: alerts/policy.yaml parsed by schemas/policy.ts (the only place a
 * threshold is written), or the policy defaults when the file does not exist. Every threshold drawn on a panel
 * comes from the object this returns.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { defaultPolicy, parsePolicy, type Policy } from '../../schemas/policy.js';

/** alerts/policy.yaml of the repository, resolved from this module (works from dist/ and from any cwd). */
export const POLICY_PATH = fileURLToPath(new URL('../../../alerts/policy.yaml', import.meta.url));

export function loadDashboardPolicy(path: string = POLICY_PATH): Readonly<Policy> {
  if (!existsSync(path)) return defaultPolicy();
  return parsePolicy(parse(readFileSync(path, 'utf8')) as unknown, path);
}
