// promtool / amtool over the committed, generated files (Debian packages prometheus, prometheus-alertmanager).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadPolicy } from '../../../services/engine/policy.js';
import { ALERTS_DIR, ruleSpecs } from '../../../services/alerting/generate/index.js';
import { prometheusRules } from '../../../services/alerting/generate/prometheus.js';

const run = (bin: string, args: string[], cwd = ALERTS_DIR) => spawnSync(bin, args, { cwd, encoding: 'utf8', timeout: 30_000 });

void test('promtool check rules: the generated rules are valid', () => {
  const r = run('promtool', ['check', 'rules', 'prometheus/signwatch.rules.yml']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`SUCCESS: ${ruleSpecs(loadPolicy()).length} rules found`));
});

void test('promtool test rules: every alert on both sides of its threshold', () => {
  const r = run('promtool', ['test', 'rules', 'prometheus/signwatch.rules.test.yml']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS/);
});

void test('promtool test rules fails when any rule threshold is moved by one either way (the tests bite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-promtool-'));
  try {
    copyFileSync(join(ALERTS_DIR, 'prometheus/signwatch.rules.test.yml'), join(dir, 'signwatch.rules.test.yml'));
    const committed = parse(readFileSync(join(ALERTS_DIR, 'prometheus/signwatch.rules.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const rules = committed.groups[0]!.rules;
    let mutants = 0;
    for (let i = 0; i < rules.length; i++) {
      for (const delta of [1, -1]) {
        const copy = structuredClone(committed);
        const rule = copy.groups[0]!.rules[i]!;
        // only the comparison in the expression changes (annotations stay), so a failure proves behaviour
        rule.expr = rule.expr.replace(/ ([<>]) (-?[\d.]+)$/, (_m, op: string, n: string) => ` ${op} ${Number(n) + delta}`);
        assert.notEqual(rule.expr, rules[i]!.expr);
        writeFileSync(join(dir, 'signwatch.rules.yml'), stringify(copy, { lineWidth: 0 }));
        const r = run('promtool', ['test', 'rules', 'signwatch.rules.test.yml'], dir);
        assert.notEqual(r.status, 0, `${rule.alert} with threshold moved by ${delta} (${rule.expr}) must fail the promtool tests`);
        mutants++;
      }
    }
    assert.equal(mutants, 2 * rules.length);
    assert.equal(rules.length, ruleSpecs(loadPolicy()).length);
    // and the unmodified rules pass in the same place
    writeFileSync(join(dir, 'signwatch.rules.yml'), stringify(prometheusRules(ruleSpecs(loadPolicy())), { lineWidth: 0 }));
    assert.equal(run('promtool', ['test', 'rules', 'signwatch.rules.test.yml'], dir).status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('amtool check-config and routing: critical → PagerDuty, warning → chat, ticket → ticket webhook', () => {
  const r = run('amtool', ['check-config', 'alertmanager/alertmanager.yml']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS/);
  assert.match(r.stdout, /1 inhibit rules/);
  const route = (...labels: string[]) => run('amtool', ['config', 'routes', 'test', '--config.file=alertmanager/alertmanager.yml', ...labels]).stdout.trim();
  assert.equal(route('alertname=codesign_keychain_failures', 'severity=critical', 'region=JP'), 'signwatch-pagerduty');
  assert.equal(route('alertname=unlock_latency_p95', 'severity=warning', 'region=JP'), 'signwatch-chat');
  assert.equal(route('alertname=cert_expiry', 'severity=ticket', 'sha1=ab'), 'signwatch-ticket');
});
