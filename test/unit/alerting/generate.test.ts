import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ALERT_NAMES, parsePolicy } from '../../../services/engine/policy.js';
import { DEFAULT_POLICY_PATH, loadPolicy } from '../../../services/engine/policy.js';
import { ConfigError } from '../../../services/platform/errors.js';
import { ALERTS_DIR, checkDrift, generateFiles, ruleSpecs, writeFiles } from '../../../services/alerting/generate/index.js';
import { METRICS } from '../../../services/platform/metric-names.js';
import { ALERT_METRICS } from '../../../services/engine/rules/index.js';

void test('the committed generated alert files match alerts/policy.yaml (no drift)', () => {
  const drift = checkDrift(loadPolicy(), ALERTS_DIR);
  assert.deepEqual(drift, [], `run 'signwatch alerts generate': ${JSON.stringify(drift, null, 1)}`);
});

void test('alerts/policy.yaml holds the source article defaults', () => {
  const p = loadPolicy(DEFAULT_POLICY_PATH);
  assert.equal(p.alerts.codesign_keychain_failures.threshold, 2);
  assert.equal(p.alerts.codesign_keychain_failures.window, 3_600_000);
  assert.equal(p.alerts.codesign_keychain_failures.severity, 'critical');
  assert.equal(p.alerts.unlock_latency_p95.thresholdMs, 800);
  assert.equal(p.alerts.cert_expiry.days, 21);
  assert.equal(p.alerts.cert_expiry.severity, 'ticket');
});

void test('loadPolicy names the file, the key and the line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-policy-'));
  try {
    const f = join(dir, 'p.yaml');
    writeFileSync(f, 'version: 1\nalerts:\n  unlock_latency_p95:\n    thresholdMs: fast\n');
    assert.throws(() => loadPolicy(f), (e: unknown) => e instanceof ConfigError && e.code === 'SW_POLICY_INVALID' && e.message.includes(`${f}:4: alerts.unlock_latency_p95.thresholdMs`));
    writeFileSync(f, 'alerts:\n  cert_expiry:\n    dayz: 3\n');
    assert.throws(() => loadPolicy(f), (e: unknown) => e instanceof ConfigError && /alerts\.cert_expiry/.test(e.message) && e.message.includes('dayz'));
    writeFileSync(f, 'alerts: [\n');
    assert.throws(() => loadPolicy(f), (e: unknown) => e instanceof ConfigError && e.code === 'SW_POLICY_YAML' && e.message.startsWith(f));
    assert.throws(() => loadPolicy(join(dir, 'missing.yaml')), (e: unknown) => e instanceof ConfigError && e.code === 'SW_POLICY_UNREADABLE');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('a policy change shows up as drift, and regenerating fixes it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-drift-'));
  try {
    cpSync(ALERTS_DIR, dir, { recursive: true });
    const changed = parsePolicy({ alerts: { codesign_keychain_failures: { threshold: 4 }, unlock_latency_p95: { thresholdMs: 650 } } });
    const drift = checkDrift(changed, dir);
    const files = drift.map((d) => d.file);
    for (const f of ['prometheus/signwatch.rules.yml', 'prometheus/signwatch.rules.test.yml', 'grafana/provisioning/alerting/signwatch-rules.yaml', 'runbooks/codesign_keychain_failures.md']) {
      assert.ok(files.includes(f), `${f} drifts`);
    }
    writeFiles(changed, dir);
    assert.deepEqual(checkDrift(changed, dir), []);
    const rules = parse(readFileSync(join(dir, 'prometheus/signwatch.rules.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    assert.equal(rules.groups[0]!.rules.find((r) => r.alert === 'codesign_keychain_failures')!.expr, `${ALERT_METRICS.keychainFailures} > 4`);
    // hand-written runbook text survives regeneration
    assert.match(readFileSync(join(dir, 'runbooks/codesign_keychain_failures.md'), 'utf8'), /## First checks/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('every alert has a rule over the processor gauges, a runbook, and links in every rule', () => {
  const policy = loadPolicy();
  const specs = ruleSpecs(policy);
  assert.deepEqual(specs.map((s) => s.alert).sort(), [...ALERT_NAMES].sort());
  const files = generateFiles(policy);
  const metricNames = new Set<string>([...Object.values(METRICS), ...Object.values(ALERT_METRICS)]);
  for (const s of specs) {
    const used = s.base.match(/signwatch_[a-z0-9_]+/g) ?? [];
    assert.ok(used.length > 0 && used.every((m) => metricNames.has(m)), `${s.alert} uses only exported metrics: ${used.join(', ')}`);
    assert.ok(files.has(`runbooks/${s.alert}.md`));
    assert.ok(s.runbookUrl.endsWith(`/alerts/runbooks/${s.alert}.md`));
  }
  const prom = parse(files.get('prometheus/signwatch.rules.yml')!) as { groups: { rules: { annotations: Record<string, string>; labels: Record<string, string> }[] }[] };
  for (const r of prom.groups[0]!.rules) {
    assert.ok(r.annotations.runbook_url && r.annotations.dashboard_url && r.annotations.summary);
    assert.ok(['critical', 'warning', 'ticket'].includes(r.labels.severity!));
  }
  // disabled alerts produce no rule
  const off = ruleSpecs(parsePolicy({ alerts: { clock_skew: { enabled: false } } }));
  assert.ok(!off.some((s) => s.alert === 'clock_skew'));
  // the processor exports p95 only: another quantile cannot be generated
  assert.throws(() => ruleSpecs(parsePolicy({ alerts: { unlock_latency_p95: { quantile: 0.99 } } })), /quantile/);
});

/** Field names of Grafana's file provisioning (pkg/services/provisioning/alerting/rules_types.go AlertRuleV1/QueryV1). */
const RULE_FIELDS = new Set(['uid', 'title', 'condition', 'data', 'dashboardUid', 'panelId', 'noDataState', 'execErrState', 'for', 'labels', 'annotations', 'isPaused', 'notification_settings', 'record', 'keep_firing_for', 'missing_series_evals_to_resolve']);
const QUERY_FIELDS = new Set(['refId', 'queryType', 'relativeTimeRange', 'datasourceUid', 'model']);

void test('Grafana provisioning uses only AlertRuleV1/QueryV1 fields, valid states, and the policy thresholds', () => {
  const policy = loadPolicy();
  const g = parse(readFileSync(join(ALERTS_DIR, 'grafana/provisioning/alerting/signwatch-rules.yaml'), 'utf8')) as {
    apiVersion: number;
    groups: { orgId: number; name: string; folder: string; interval: string; rules: Record<string, unknown>[] }[];
  };
  assert.equal(g.apiVersion, 1);
  const rules = g.groups[0]!.rules;
  for (const r of rules) {
    for (const k of Object.keys(r)) assert.ok(RULE_FIELDS.has(k), `unknown rule field ${k}`);
    assert.ok(['OK', 'NoData', 'Alerting', 'KeepLast'].includes(r.noDataState as string));
    assert.ok(['OK', 'Error', 'Alerting', 'KeepLast'].includes(r.execErrState as string));
    const data = r.data as Record<string, unknown>[];
    for (const q of data) for (const k of Object.keys(q)) assert.ok(QUERY_FIELDS.has(k), `unknown query field ${k}`);
    assert.ok(data.some((q) => q.refId === r.condition));
    assert.ok((r.uid as string).length <= 40);
  }
  const kc = rules.find((r) => r.title === 'codesign_keychain_failures')!;
  const c = (kc.data as { refId: string; model: { conditions?: { evaluator: { type: string; params: number[] } }[] } }[]).find((q) => q.refId === 'C')!;
  assert.deepEqual(c.model.conditions![0]!.evaluator, { type: 'gt', params: [policy.alerts.codesign_keychain_failures.threshold] });
  const cp = parse(readFileSync(join(ALERTS_DIR, 'grafana/provisioning/alerting/signwatch-contact-points.yaml'), 'utf8')) as {
    contactPoints: { name: string; receivers: { type: string; settings: Record<string, string> }[] }[];
  };
  const pd = cp.contactPoints.find((p) => p.name === 'signwatch-pagerduty')!.receivers[0]!;
  assert.equal(pd.type, 'pagerduty');
  assert.equal(pd.settings.integrationKey, '$SIGNWATCH_PD_ROUTING_KEY', 'no secret in the file');
});
