// End to end with real servers: a static exporter of the processor's gauge names → real Prometheus (generated
// rules) → real Alertmanager (generated routing) → the fake PagerDuty server. Page, inhibition, ticket, resolve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakePagerDuty } from '../../../services/alerting/fake-pagerduty.js';
import { startPromStack, startStaticExporter } from '../../harness/prom-stack.js';
import { loadPolicy, parsePolicy } from '../../../services/engine/policy.js';
import { ALERT_METRICS } from '../../../services/engine/rules/index.js';

const ROUTING_KEY = 'R0UTINGKEY00000000000000000000AA';

void test('Prometheus + Alertmanager route the generated rules to PagerDuty (page + resolve), chat (inhibited per region) and tickets', { timeout: 120_000 }, async () => {
  // the committed policy with the unlock warning undamped (its default `for: 2m` would make the test wait minutes;
  // damping itself is covered by the promtool tests of the generated rules)
  const committed = structuredClone(loadPolicy()) as unknown as { alerts: Record<string, Record<string, unknown>> };
  committed.alerts.unlock_latency_p95 = { ...committed.alerts.unlock_latency_p95, for: 0, keepFiringFor: 0 };
  const policy = parsePolicy(committed, 'test policy');
  const pd = await startFakePagerDuty();
  const exporter = await startStaticExporter();
  const T = policy.alerts.codesign_keychain_failures.threshold;
  const U = policy.alerts.unlock_latency_p95;
  // quiet baseline
  for (const region of ['HK', 'JP', 'SG']) {
    exporter.set(ALERT_METRICS.keychainFailures, { region }, 0);
    exporter.set(ALERT_METRICS.unlockP95, { region }, 100);
    exporter.set(ALERT_METRICS.unlockSamples, { region }, 20);
  }
  const stack = await startPromStack({
    policy,
    targets: [exporter.url.replace('http://', '')],
    pagerdutyUrl: pd.eventsUrl,
    chatWebhookUrl: `${pd.url}/chat`,
    ticketWebhookUrl: `${pd.url}/ticket`,
    routingKey: ROUTING_KEY,
    scrapeInterval: '1s',
    evaluationInterval: '1s',
    alertmanager: { groupWait: '1s', groupInterval: '1s', repeatInterval: '1h' },
  });
  try {
    // JP: keychain failures over the threshold (page) and slow unlocks (warning, inhibited by the JP page);
    // SG: slow unlocks only (warning goes to chat); a certificate close to expiry (ticket)
    exporter.set(ALERT_METRICS.keychainFailures, { region: 'JP' }, T + 1);
    exporter.set(ALERT_METRICS.unlockP95, { region: 'JP' }, U.thresholdMs + 100);
    exporter.set(ALERT_METRICS.unlockP95, { region: 'SG' }, U.thresholdMs + 100);
    exporter.set(ALERT_METRICS.certDaysToExpiry, { region: 'US', sha1: 'ab'.repeat(20), subject: 'Apple Distribution: Demo' }, policy.alerts.cert_expiry.days - 5);

    await pd.waitFor((f) => f.events.some((e) => e.body.event_action === 'trigger'), 60_000);
    const trig = pd.events.find((e) => e.body.event_action === 'trigger')!.body as {
      dedup_key: string;
      payload: { severity: string; group: string; summary: string; class: string };
      links: { href: string; text: string }[];
    };
    assert.equal(trig.payload.severity, 'critical');
    assert.equal(trig.payload.group, 'JP');
    assert.equal(trig.payload.class, 'codesign_keychain_failures');
    assert.match(trig.payload.summary, new RegExp(`^JP: ${T + 1} keychain-class codesign failures`));
    assert.ok(trig.links.some((l) => l.href.endsWith('/alerts/runbooks/codesign_keychain_failures.md')));
    assert.ok(trig.links.some((l) => l.href.endsWith('var-region=JP')));

    await pd.waitFor((f) => f.webhooks('/chat').length > 0 && f.webhooks('/ticket').length > 0, 30_000);
    // give a JP warning every chance to (wrongly) arrive
    await new Promise((r) => setTimeout(r, 3000));
    const chat = pd.webhooks('/chat').map((w) => w.body as { commonLabels: Record<string, string>; status: string });
    assert.ok(chat.some((c) => c.commonLabels.region === 'SG' && c.commonLabels.alertname === 'unlock_latency_p95'));
    assert.ok(!chat.some((c) => c.commonLabels.region === 'JP'), 'the JP page inhibits the JP warning');
    const ticket = pd.webhooks('/ticket')[0]!.body as { commonLabels: Record<string, string> };
    assert.equal(ticket.commonLabels.sha1, 'ab'.repeat(20));
    assert.equal(ticket.commonLabels.alertname, 'cert_expiry');

    // the count drops back to the threshold: the page resolves with the same dedup key
    exporter.set(ALERT_METRICS.keychainFailures, { region: 'JP' }, T);
    await pd.waitFor((f) => f.events.some((e) => e.body.event_action === 'resolve'), 60_000);
    const res = pd.events.find((e) => e.body.event_action === 'resolve')!.body;
    assert.equal(res.dedup_key, trig.dedup_key);
    assert.equal(pd.incidents.filter((i) => i.severity === 'critical').length, 1, 'one incident for the episode');
    assert.ok(pd.incidents.every((i) => i.resolvedAt !== undefined));
  } finally {
    await stack.stop();
    await stack.stop();
    await exporter.close();
    await pd.close();
  }
});
