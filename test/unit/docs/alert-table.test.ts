/** docs/alerting.md's table of alerts names every alert of the registry, with its default severity and freeze. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultPolicy } from '../../../services/engine/policy.js';
import { freezingAlerts } from '../../../services/engine/engine.js';
import { RULES } from '../../../services/engine/rules/index.js';

const DOC = fileURLToPath(new URL('../../../../docs/alerting.md', import.meta.url));

void test('docs/alerting.md: one row per alert, with the default severity and whether it freezes', () => {
  const rows = readFileSync(DOC, 'utf8')
    .split('\n')
    .filter((l) => /^\| [a-z_0-9]+\{/.test(l))
    .map((l) => l.split(' | ').map((c) => c.replace(/^\| /, '').trim()));
  const policy = defaultPolicy();
  const freezing = freezingAlerts(policy);
  assert.deepEqual(rows.map((r) => r[0]!.replace(/\{.*$/, '')).sort(), RULES.map((r) => r.name).sort());
  for (const r of rows) {
    const name = r[0]!.replace(/\{.*$/, '') as keyof typeof policy.alerts;
    assert.ok(r[3]!.startsWith(`${policy.alerts[name].severity} →`), `${name}: severity ${policy.alerts[name].severity} (${r[3]})`);
    assert.ok(r[4]!.startsWith(freezing.has(name) ? 'yes' : 'no'), `${name}: freezes ${freezing.has(name)} (${r[4]})`);
  }
});
